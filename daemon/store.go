package daemon

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite", pure Go
)

// store is the queue's database: one table, one row per download, in
// plain SQL that PostgreSQL would run too (no SQLite-only types in the
// table; the pragmas are SQLite's and stay in openStore). Every change is
// its own transaction, written before the RPC call that made it answers,
// so a kill -9 loses nothing a client was told about.
type store struct {
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS downloads (
	gid           TEXT PRIMARY KEY,
	status        TEXT NOT NULL,
	uris          TEXT NOT NULL,
	options       TEXT NOT NULL,
	path          TEXT NOT NULL,
	dir           TEXT NOT NULL,
	length        BIGINT NOT NULL,
	completed     BIGINT NOT NULL,
	error_code    INTEGER NOT NULL,
	error_message TEXT NOT NULL,
	position      BIGINT NOT NULL,
	stopped_seq   BIGINT NOT NULL
)`

// openStore opens (creating) the database at path.
func openStore(path string) (*store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state database: %w", err)
	}
	// WAL with synchronous=NORMAL: a commit survives a crash of the
	// process (kill -9) at once, and a power loss once the WAL is synced.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("state database %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and the queue writes
	// under its own lock.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state database %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

// record is a download as stored.
type record struct {
	GID, Status, Path, Dir string
	URIs                   []string
	Options                map[string]string
	Length, Completed      int64
	ErrorCode              int
	ErrorMessage           string
	Position, StoppedSeq   int64
}

func recordOf(it *item) record {
	return record{
		GID: it.gid, Status: it.status, Path: it.path, Dir: it.dir,
		URIs: it.uris, Options: it.opts, Length: it.length, Completed: it.done,
		ErrorCode: it.errCode, ErrorMessage: it.errMsg, Position: it.pos, StoppedSeq: it.order,
	}
}

func (r record) item() *item {
	opts := downloadOptions(r.Options)
	if opts == nil {
		opts = downloadOptions{}
	}
	return &item{
		gid: r.GID, status: r.Status, path: r.Path, dir: r.Dir, uris: r.URIs, opts: opts,
		length: r.Length, done: r.Completed, errCode: r.ErrorCode, errMsg: r.ErrorMessage,
		pos: r.Position, order: r.StoppedSeq,
	}
}

// load reads every download, in queue order, the stopped ones in the
// order they stopped.
func (s *store) load() ([]record, error) {
	rows, err := s.db.Query(`SELECT gid, status, uris, options, path, dir, length, completed, error_code, error_message, position, stopped_seq
		FROM downloads ORDER BY stopped_seq, position`)
	if err != nil {
		return nil, fmt.Errorf("state database: %w", err)
	}
	defer rows.Close()
	var recs []record
	for rows.Next() {
		var r record
		var uris, opts string
		if err := rows.Scan(&r.GID, &r.Status, &uris, &opts, &r.Path, &r.Dir, &r.Length, &r.Completed, &r.ErrorCode, &r.ErrorMessage, &r.Position, &r.StoppedSeq); err != nil {
			return nil, fmt.Errorf("state database: %w", err)
		}
		if err := json.Unmarshal([]byte(uris), &r.URIs); err != nil {
			return nil, fmt.Errorf("state database: download %s: uris: %w", r.GID, err)
		}
		if err := json.Unmarshal([]byte(opts), &r.Options); err != nil {
			return nil, fmt.Errorf("state database: download %s: options: %w", r.GID, err)
		}
		if !validGID(r.GID) {
			return nil, fmt.Errorf("state database: %q is not a gid", r.GID)
		}
		recs = append(recs, r)
	}
	return recs, rows.Err()
}

// save writes r, inserting or replacing its row.
func (s *store) save(r record) error {
	uris, _ := json.Marshal(r.URIs)
	opts, _ := json.Marshal(r.Options)
	_, err := s.db.Exec(`INSERT INTO downloads (gid, status, uris, options, path, dir, length, completed, error_code, error_message, position, stopped_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (gid) DO UPDATE SET status = excluded.status, uris = excluded.uris, options = excluded.options,
			path = excluded.path, dir = excluded.dir, length = excluded.length, completed = excluded.completed,
			error_code = excluded.error_code, error_message = excluded.error_message,
			position = excluded.position, stopped_seq = excluded.stopped_seq`,
		r.GID, r.Status, string(uris), string(opts), r.Path, r.Dir, r.Length, r.Completed, r.ErrorCode, r.ErrorMessage, r.Position, r.StoppedSeq)
	return err
}

// saveOrder writes the queue positions of the gids in order, in one
// transaction.
func (s *store) saveOrder(order map[string]int64) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	stmt, err := tx.Prepare(`UPDATE downloads SET position = ? WHERE gid = ?`)
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	for gid, pos := range order {
		if _, err := stmt.Exec(pos, gid); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	_ = stmt.Close()
	return tx.Commit()
}

// delete removes the rows of gids, in one transaction.
func (s *store) delete(gids []string) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	for _, gid := range gids {
		if _, err := tx.Exec(`DELETE FROM downloads WHERE gid = ?`, gid); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}
