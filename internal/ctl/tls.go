package ctl

import (
	"errors"
	"flag"
	"strings"

	"google.golang.org/grpc"

	"github.com/corebanking/ledger/internal/clienttls"
	"github.com/corebanking/ledger/internal/identity"
)

// security is how ledgerctl proves who it is to the ledger: the shared TLS
// flags, and the role whose certificate in their directory it presents.
type security struct {
	clienttls.Flags
	role string // whose certificate in Dir; each command has a default
}

func (s *security) register(fs *flag.FlagSet) {
	s.Flags.Register(fs)
	fs.StringVar(&s.role, "role", s.role, "act as `role` (channel|teller|auditor|operator): use its certificate from --tls-dir (default: the command's own)")
}

func securityFromEnv() security {
	return security{Flags: clienttls.FromEnv()}
}

// setupError is a problem on this machine, such as a missing certificate:
// nothing was sent, and the program exits with ExitUsage.
type setupError struct{ msg string }

func (e *setupError) Error() string { return e.msg }

// commandRoles is the role each command acts as unless --role says
// otherwise: the least the server's permission table lets do its work.
var commandRoles = map[string]identity.Role{
	"account open": identity.Teller, "account show": identity.Teller, "balance": identity.Teller,
	"statement": identity.Teller, "deposit": identity.Teller, "withdraw": identity.Teller,
	"transfer": identity.Channel, "hold place": identity.Channel, "hold capture": identity.Channel,
	"hold void": identity.Channel, "promo subscribe": identity.Channel, "promo cancel": identity.Channel,
	"entry post": identity.Channel, "entry reverse": identity.Channel, "batch": identity.Channel,
	"promo create": identity.Operator, "promo show": identity.Operator, "compartments": identity.Operator,
	"journal tail": identity.Auditor, "journal export": identity.Auditor, "journal verify": identity.Auditor,
	"journal prove": identity.Auditor, "account status": identity.Operator,
}

// roleOf is the role a command acts as: --role, or the command's default.
func (s *security) roleOf(cmd *command) (identity.Role, error) {
	r := identity.Role(s.role)
	if s.role == "" {
		r = commandRoles[cmd.name]
	}
	if r == "" {
		return "", usagef(cmd, "%s has no default role: pass --role", cmd.name)
	}
	if !r.Valid() {
		return "", usagef(cmd, "--role must be one of channel, teller, auditor, operator, not %q", s.role)
	}
	return r, nil
}

// dialOption returns the transport credentials of role, as
// clienttls.Flags.DialOption does; its mistakes are ledgerctl's usage and
// setup errors.
func (s *security) dialOption(role identity.Role) (grpc.DialOption, error) {
	opt, err := s.Flags.DialOption(role)
	switch {
	case errors.Is(err, clienttls.ErrCertKeyApart):
		return nil, usagef(nil, "%v", err)
	case err != nil:
		return nil, &setupError{err.Error()}
	}
	return opt, nil
}

// handshakeFailure reports whether a transport error says the TLS
// handshake failed, in words the teller can act on.
func handshakeFailure(msg string) bool {
	for _, s := range []string{"tls:", "x509:", "handshake"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
