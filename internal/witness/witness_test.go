package witness_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corebanking/ledger/internal/witness"
)

const (
	note1 = "j\n1\nAAAA\nchain-head BBBB\ntime T1\n\n— j sig1\n"
	note2 = "j\n2\nCCCC\nchain-head DDDD\ntime T2\n\n— j sig2\n— k sig3\n"
)

func TestAppendAndRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "w")
	w, err := witness.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{note1, note2} {
		if err := w.Append([]byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Append([]byte("no newline")); err == nil {
		t.Error("a note without its final newline was appended")
	}
	w.Close()
	// Opening again appends after what is there.
	w, err = witness.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append([]byte(note1)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, _ := os.ReadFile(filepath.Join(dir, witness.FileName))
	if want := note1 + "\n" + note2 + "\n" + note1 + "\n"; string(b) != want {
		t.Errorf("file:\n%q\nwant\n%q", b, want)
	}
	notes, err := witness.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []int{1, 9, 18}
	for i, want := range []string{note1, note2, note1} {
		if i >= len(notes) || string(notes[i].Text) != want || notes[i].Line != wantLines[i] {
			t.Fatalf("notes = %+v", notes)
		}
	}
}

// A note cut short by a crash is named, and the next note starts clean.
func TestTornNote(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, witness.FileName)
	if err := os.WriteFile(path, []byte(note1+"\n"+note2[:20]), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := witness.Read(path); err == nil || !strings.Contains(err.Error(), ":9: a checkpoint without its signature") {
		t.Errorf("Read = %v, want the torn note at line 9", err)
	}
	w, err := witness.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append([]byte(note2)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, _ := os.ReadFile(path)
	if !bytes.HasSuffix(b, []byte(note2[:20]+"\n\n"+note2+"\n")) {
		t.Errorf("file after the torn note:\n%q", b)
	}
	if _, err := witness.Read(path); err == nil {
		t.Error("a witness with a torn note reads as whole")
	}
}

func TestReadRefusesStraySignatures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte(note1+"\n— j sig9\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := witness.Read(path); err == nil || !strings.Contains(err.Error(), "signatures without a checkpoint") {
		t.Errorf("Read = %v", err)
	}
}
