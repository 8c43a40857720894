package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/corebanking/ledger/internal/clienttls"
	"github.com/corebanking/ledger/internal/devcert"
	"github.com/corebanking/ledger/internal/identity"
)

// certIssue signs a client certificate for a new caller with the
// development CA in --tls-dir. It sends nothing to the ledger.
func certIssue(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	name := fs.String("name", "", "`name` of the caller, for example atm-switch (a-z, 0-9, '.', '_', '-')")
	out := fs.String("out", "", "`directory` to write ROLE-NAME.crt and .key to (default --tls-dir)")
	td := fs.String("trust-domain", identity.DefaultTrustDomain, "trust `domain` of the ledger's callers, as ledgerd --trust-domain")
	return func(context.Context, []string) error {
		id := identity.ID{Role: identity.Role(c.g.sec.role), Name: *name}
		switch {
		case c.g.sec.role == "":
			return usagef(nil, "--role is required: channel, teller, auditor or operator")
		case !id.Role.Valid():
			return usagef(nil, "--role must be one of channel, teller, auditor, operator, not %q", c.g.sec.role)
		case *name == "":
			return usagef(nil, "--name is required")
		}
		if err := identity.ValidateName(*name); err != nil {
			return usagef(nil, "--name: %v", err)
		}
		dir := *out
		if dir == "" {
			dir = c.g.sec.Dir
		}
		certPath, err := devcert.Issue(c.g.sec.Dir, *td, id, dir)
		if err != nil {
			return &setupError{clienttls.Missing(err, "the development CA").Error()}
		}
		keyPath := strings.TrimSuffix(certPath, ".crt") + ".key"
		caPath := filepath.Join(c.g.sec.Dir, devcert.CACert)
		uri := id.URI(*td).String()
		res, err := structpb.NewStruct(map[string]any{"spiffe_id": uri, "certificate": certPath, "key": keyPath, "ca": caPath})
		if err != nil {
			return err
		}
		return c.show(res, func(w io.Writer) {
			fmt.Fprintf(w, "issued %s (%s)\n  certificate  %s\n  key          %s (0600: keep it secret)\n  CA           %s\n",
				id, uri, certPath, keyPath, caPath)
			fmt.Fprintf(w, "use: ledgerctl --tls-cert %s --tls-key %s --tls-ca %s ...\n", certPath, keyPath, caPath)
		})
	}
}
