package ledgerd_test

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corebanking/ledger/internal/ledgerd"
)

func TestLoadIsolation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledgerd.yaml")
	if err := os.WriteFile(path, []byte(`
compartments:
  promo:
    max_concurrent: 2
    open_timeout: 10s
  batch:
    max_concurrent: 1
    pool_size: 1
methods:
  /ledger.v1.AccountService/ListEntries: batch
`), 0o600); err != nil {
		t.Fatal(err)
	}
	iso, err := ledgerd.LoadIsolation(path)
	if err != nil {
		t.Fatal(err)
	}
	def := ledgerd.DefaultIsolation()
	promo := iso.Compartments["promo"]
	if promo.MaxConcurrent != 2 || promo.OpenTimeout != 10*time.Second || promo.PoolSize != def.Compartments["promo"].PoolSize {
		t.Fatalf("promo = %+v: the file's fields should override, the rest keep their defaults", promo)
	}
	if iso.Methods["/ledger.v1.AccountService/ListEntries"] != "batch" || iso.Methods["/ledger.v1.PaymentService/Transfer"] != "routine" {
		t.Fatalf("methods = %v", iso.Methods)
	}

	t.Run("Set", func(t *testing.T) {
		if err := iso.Set("promo.max_wait=5ms"); err != nil || iso.Compartments["promo"].MaxWait != 5*time.Millisecond {
			t.Fatalf("Set: %v, promo = %+v", err, iso.Compartments["promo"])
		}
		if err := iso.Set("shared.pool_size=3"); err != nil || iso.Shared.PoolSize != 3 {
			t.Fatalf("Set shared: %v, shared = %+v", err, iso.Shared)
		}
		if err := iso.Set("routine.move_batch=1"); err != nil || iso.Compartments["routine"].MoveBatch != 1 {
			t.Fatalf("Set move_batch: %v, routine = %+v", err, iso.Compartments["routine"])
		}
		// Every field the file may set, the flag may set too.
		settable := 0
		for _, f := range reflect.VisibleFields(reflect.TypeFor[ledgerd.Limits]()) {
			field, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Anonymous || field == "-" {
				continue
			}
			settable++
			zero := "0"
			switch f.Type {
			case reflect.TypeFor[time.Duration]():
				zero = "0s"
			case reflect.TypeFor[bool]():
				zero = "false"
			case reflect.TypeFor[string]():
				zero = `""`
			}
			if err := iso.Set("teller." + field + "=" + zero); err != nil {
				t.Errorf("Set(teller.%s=%s): %v", field, zero, err)
			}
		}
		if settable < 20 {
			t.Errorf("only %d settable fields found in Limits", settable)
		}
		for _, bad := range []string{"promo.max_wait", "promo=1", "nowhere.max_wait=1s", "promo.colour=red", "promo.max_concurrent=many"} {
			if err := iso.Set(bad); err == nil {
				t.Errorf("Set(%q) succeeded", bad)
			}
		}
	})
	t.Run("ErrUnknownCompartment", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(bad, []byte("methods:\n  /ledger.v1.PaymentService/Transfer: nowhere\n"), 0o600)
		if _, err := ledgerd.LoadIsolation(bad); err == nil || !strings.Contains(err.Error(), "nowhere") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRolePasswordsFromDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ledger_writer"), []byte("w-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ledger_auditor"), []byte("a secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ledgerd.RolePasswordsFromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ledger_writer": "w-secret", "ledger_auditor": "a secret"}
	if !maps.Equal(got, want) {
		t.Errorf("passwords = %q, want %q (no file: no password)", got, want)
	}
}
