package fileaccess

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/netfox/netfox/internal/testdir"
)

func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(testdir.New(t), "f.part")
	first, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrLocked) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Fatalf("second Open: got %v, want ErrLocked naming the path", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

func TestPreallocateAndConcurrentWriteAt(t *testing.T) {
	path := filepath.Join(testdir.New(t), "f.part")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const size, pieces = 1 << 20, 16
	if err := f.Preallocate(size); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Size(); got != size {
		t.Fatalf("size after Preallocate = %d, want %d", got, size)
	}
	var wg sync.WaitGroup
	for i := range pieces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunk := bytes.Repeat([]byte{byte(i)}, size/pieces)
			if _, err := f.WriteAt(chunk, int64(i*size/pieces)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pieces {
		if got[i*size/pieces] != byte(i) || got[(i+1)*size/pieces-1] != byte(i) {
			t.Fatalf("piece %d not where it was written", i)
		}
	}
}

func TestPreallocateKeepsData(t *testing.T) {
	path := filepath.Join(testdir.New(t), "f.part")
	if err := os.WriteFile(path, []byte("resumed bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Preallocate(100); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if len(got) != 100 || string(got[:13]) != "resumed bytes" {
		t.Fatalf("after Preallocate: %d bytes starting %q", len(got), got[:13])
	}
}

func TestOpenErrors(t *testing.T) {
	dir := testdir.New(t)
	if _, err := Open(dir); err == nil {
		t.Error("Open of a directory succeeded")
	}
	if _, err := Open(filepath.Join(dir, "missing", "f.part")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open in a missing directory: %v", err)
	}
}

func BenchmarkWriteAt(b *testing.B) {
	f, err := Open(filepath.Join(b.TempDir(), "f.part"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const size = 64 << 20
	if err := f.Preallocate(size); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 128<<10)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := f.WriteAt(buf, int64(i*len(buf))%size); err != nil {
			b.Fatal(err)
		}
	}
}
