package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sseproxy/sseproxy/keys"
)

type plainKMS struct{ keys.KMS }

type pingKMS struct {
	keys.KMS
	err error
}

func (p pingKMS) Ping(context.Context) error { return p.err }

func TestKMSProbe(t *testing.T) {
	ring, err := keys.OpenKeyring(keys.KeyringOptions{Path: filepath.Join(t.TempDir(), "keys.json"), CreateIfMissing: true, DefaultKeyName: "default"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := kmsProbe(ring, "default")(ctx); err != nil {
		t.Errorf("kmsProbe(keyring) = %v, want nil", err)
	}
	if err := kmsProbe(ring, "other")(ctx); err == nil || !strings.Contains(err.Error(), `"other" does not exist`) {
		t.Errorf("kmsProbe(keyring, missing key) = %v, want a does-not-exist error", err)
	}
	if err := ring.Disable("default"); err != nil {
		t.Fatal(err)
	}
	if err := kmsProbe(ring, "default")(ctx); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("kmsProbe(keyring, disabled key) = %v, want a disabled error", err)
	}
	down := errors.New("kms: connection refused")
	if err := kmsProbe(pingKMS{err: down}, "default")(ctx); err != down {
		t.Errorf("kmsProbe(pinger) = %v, want its Ping error", err)
	}
	if err := kmsProbe(plainKMS{}, "default")(ctx); err != nil {
		t.Errorf("kmsProbe(KMS without Ping) = %v, want nil", err)
	}
}
