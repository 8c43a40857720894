// Package witness keeps the journal's signed checkpoints outside the
// database: the sealer appends every checkpoint it signs to one file,
// fsynced before the next, so that a copy of the journal's history lives
// where the database's owners cannot rewrite it. A bank ships the file
// elsewhere as it grows (object storage under a retention lock, an
// auditor's mailbox); `ledgerctl journal verify --witness` checks the
// journal against it.
//
// The file is the checkpoints' signed notes one after another, each
// followed by a blank line:
//
//	<checkpoint text>
//
//	— <key name> <signature>
//
//	<next checkpoint text>
//	...
package witness

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// FileName is the witness file's name in its directory.
const FileName = "checkpoints"

// sigPrefix starts every signature line of a signed note.
const sigPrefix = "— "

// Witness appends checkpoints to the file in one directory.
type Witness struct {
	mu sync.Mutex
	f  *os.File
}

// Open opens, creating them if need be, dir and its witness file for
// appending. A file whose last note was cut short (a crash in the middle
// of a write) gets a blank line first, so that the next note starts clean;
// verification names the torn one.
func Open(dir string) (*Witness, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	w := &Witness{f: f}
	switch {
	case len(old) == 0:
		err = syncDir(dir) // the new file's name must survive a crash too
	case !bytes.HasSuffix(old, []byte("\n\n")):
		err = w.write([]byte("\n\n"[:2-trailingNewlines(old)]))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("witness %s: %w", path, err)
	}
	return w, nil
}

func trailingNewlines(b []byte) int {
	if bytes.HasSuffix(b, []byte("\n")) {
		return 1
	}
	return 0
}

// Path is the witness file's path.
func (w *Witness) Path() string { return w.f.Name() }

// Append writes a signed note and a blank line in one write, and returns
// once they are on disk.
func (w *Witness) Append(note []byte) error {
	if !bytes.HasSuffix(note, []byte("\n")) || bytes.HasSuffix(note, []byte("\n\n")) {
		return errors.New("witness: a signed note ends with exactly one newline")
	}
	return w.write(append(bytes.Clone(note), '\n'))
}

func (w *Witness) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.f.Write(b); err != nil {
		return err
	}
	return w.f.Sync()
}

// Close closes the file.
func (w *Witness) Close() error { return w.f.Close() }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Note is one signed note of a witness file, and the line it starts on.
type Note struct {
	Line int
	Text []byte
}

// Read returns the notes of the witness file at path, or of the witness
// file in the directory path, in the file's order. Text that is not a
// note's (a paragraph of signatures without a text, a text without
// signatures) is an error naming its line.
func Read(path string) ([]Note, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, FileName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var notes []Note
	var text []string // the paragraph of text waiting for its signatures
	textLine, line := 0, 1
	for _, para := range strings.Split(string(b), "\n\n") {
		start := line
		line += strings.Count(para, "\n") + 2
		switch {
		case strings.TrimSpace(para) == "":
			continue
		case strings.HasPrefix(para, sigPrefix):
			if text == nil {
				return nil, fmt.Errorf("%s:%d: signatures without a checkpoint", path, start)
			}
			notes = append(notes, Note{Line: textLine, Text: []byte(strings.Join(text, "\n") + "\n\n" + strings.TrimSuffix(para, "\n") + "\n")})
			text = nil
		case text != nil:
			return nil, fmt.Errorf("%s:%d: a checkpoint without its signature (a write cut short?)", path, textLine)
		default:
			text, textLine = []string{para}, start
		}
	}
	if text != nil {
		return nil, fmt.Errorf("%s:%d: a checkpoint without its signature (a write cut short?)", path, textLine)
	}
	return notes, nil
}
