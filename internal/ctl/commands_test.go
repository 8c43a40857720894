package ctl

import "testing"

// Every command that calls the ledger acts as some role by default, so
// that no command needs --role to do its ordinary work.
func TestEveryCommandHasARole(t *testing.T) {
	for _, cmd := range commands {
		r, ok := commandRoles[cmd.name]
		switch {
		case cmd.offline && ok:
			t.Errorf("%s makes no connection but has role %s", cmd.name, r)
		case !cmd.offline && !r.Valid():
			t.Errorf("%s has no default role in commandRoles", cmd.name)
		}
	}
	if len(commandRoles) > len(commands) {
		t.Errorf("commandRoles names %d commands; there are %d", len(commandRoles), len(commands))
	}
}
