package netfox

import (
	"reflect"
	"slices"
	"testing"

	"github.com/netfox/netfox/internal/engine"
)

// The engine cannot import the API, so the API's value types have their
// engine twins, copied field by field (resultOf, snapshotOf, eventOf,
// Request.job). A field added to one side and not the other fails here,
// not silently in a copy.
func TestEngineTwins(t *testing.T) {
	fields := func(v any) []string {
		var names []string
		for f := range reflect.TypeOf(v).Fields() {
			names = append(names, f.Name)
		}
		slices.Sort(names)
		return names
	}
	for _, pair := range []struct{ api, engine any }{
		{Result{}, engine.Result{}},
		{Source{}, engine.Source{}},
		{ParallelStep{}, engine.ParallelStep{}},
		{Snapshot{}, engine.Snapshot{}},
		{Span{}, engine.Span{}},
		{SourceState{}, engine.SourceState{}},
		{Event{}, engine.Event{}},
		{Checksum{}, engine.Checksum{}},
	} {
		if a, e := fields(pair.api), fields(pair.engine); !slices.Equal(a, e) {
			t.Errorf("%T has fields %v, %T %v", pair.api, a, pair.engine, e)
		}
	}
	// Every field of a Job comes from the Request's field of the same
	// name, but Progress, which the handle owns.
	request := fields(Request{})
	for _, f := range fields(engine.Job{}) {
		if f != "Progress" && !slices.Contains(request, f) {
			t.Errorf("engine.Job.%s has no Request field of its name", f)
		}
	}
	// The kinds: each of the engine's has a name here.
	for k := engine.EventRetry; k <= engine.EventAutoStep; k++ {
		if got := EventKind(k).String(); got == "" || got[0] == 'E' {
			t.Errorf("engine kind %d has no name: %q", k, got)
		}
	}
	if got := EventKind(engine.EventAutoStep + 1).String(); got != "EventKind(29)" {
		t.Errorf("a kind past the engine's last is named %q", got)
	}
}

// job copies every field a Job has from the Request.
func TestJobCopiesEveryField(t *testing.T) {
	req, err := Request{URL: "http://localhost/f", Mirrors: []string{"http://127.0.0.1/f"}, Output: "o", Dir: "d", Protected: []string{"p"},
		Connections: 3, AutoMax: 4, CacheDir: "c", MinSplit: 5, Restart: true, Overwrite: true,
		Checksum: &Checksum{Algo: "md5", Sum: make([]byte, 16)}, User: "u", Password: "pw", Header: map[string][]string{"X": {"y"}},
		UserAgent: "ua", Credentials: func(string) (string, string, bool) { return "", "", false }, LocationTrusted: true, AllowInsecureRedirect: true,
		MaxTries: 6, StallSpeed: 7, StallWindow: 8, RetryWait: 9, CheckpointInterval: 10, SyncInterval: 11,
		OnEvent: func(Event) {}}.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	req.Continue = true // excluded by Restart in a real request; set here to see it copied
	j := reflect.ValueOf(req.job(new(engine.Progress)))
	for i := range j.NumField() {
		if f := j.Field(i); f.IsZero() {
			t.Errorf("Request.job left engine.Job.%s zero", j.Type().Field(i).Name)
		}
	}
}
