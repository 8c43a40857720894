package server

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestEveryMethodHasPermissions walks the service descriptors registered
// on a real grpc.Server: a method missing from the table would be refused
// to everyone, which is safe but surely not meant.
func TestEveryMethodHasPermissions(t *testing.T) {
	s, err := Start(Config{Listen: "127.0.0.1:0", AdminListen: "-", Plaintext: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	served := s.ServiceInfo()
	for _, svc := range append(Services, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection") {
		if len(served[svc].Methods) == 0 {
			t.Errorf("%s is not among the registered services walked", svc)
		}
	}
	for svc, info := range served {
		for _, m := range info.Methods {
			if name := "/" + svc + "/" + m.Name; len(permissions[name]) == 0 {
				t.Errorf("%s is served but not in the permission table", name)
			}
		}
	}
	for method, roles := range permissions {
		for _, r := range roles {
			if !r.Valid() {
				t.Errorf("%s: unknown role %q", method, r)
			}
		}
	}
}

// A method missing from the table is refused, even in plaintext mode where
// every listed method is open.
func TestUnlistedMethodIsRefused(t *testing.T) {
	a := newAuthorizer(slog.New(slog.NewTextHandler(io.Discard, nil)), true, "")
	callID := func() string { return "call-1" }
	if _, err := a.authorize(context.Background(), "/ledger.v1.AccountService/CloseAll", callID); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("unlisted method: %v, want PERMISSION_DENIED", err)
	}
	c, err := a.authorize(context.Background(), "/ledger.v1.AccountService/GetBalance", callID)
	if err != nil || c.actor != PlaintextActor {
		t.Fatalf("listed method in plaintext: %q, %v", c.actor, err)
	}
}
