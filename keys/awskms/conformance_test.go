package awskms_test

import (
	"testing"

	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/awskms"
	"github.com/sseproxy/sseproxy/keys/kmstest"
)

func TestConformance(t *testing.T) {
	t.Logf("private network namespace: %v", privateNetwork)
	srv := startLocalKMS(t)
	kmstest.RunWithOtherKey(t, func(t *testing.T) (keys.KMS, string, string) {
		return srv.Client(t, nil), keyA, keyB
	})
}

func TestConformanceDefaultKey(t *testing.T) {
	srv := startLocalKMS(t)
	kmstest.Run(t, func(t *testing.T) (keys.KMS, string) {
		return srv.Client(t, func(o *awskms.Options) { o.DefaultKeyID = keyA }), ""
	})
}
