package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/config"
	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/keys/awskms"
	"github.com/sseproxy/sseproxy/keys/kes"
	"github.com/sseproxy/sseproxy/keys/vault"
	"github.com/sseproxy/sseproxy/proxy"
	"github.com/sseproxy/sseproxy/proxy/s3"
)

// newBackend returns the client of cfg's backend store.
func newBackend(cfg *config.Config) (*backend.Client, error) {
	return backend.New(backend.Options{
		Endpoint: cfg.Backend.Endpoint, Region: cfg.Backend.Region,
		AccessKey: cfg.Backend.AccessKey, SecretKey: cfg.Backend.SecretKey,
		CAFile:             cfg.Backend.CAFile,
		ClientCertFile:     cfg.Backend.ClientCertFile,
		ClientKeyFile:      cfg.Backend.ClientKeyFile,
		InsecureSkipVerify: cfg.Backend.InsecureSkipVerify,
	})
}

// openKMS returns the KMS provider cfg names, unwrapped by any cache.
func openKMS(ctx context.Context, cfg *config.Config) (keys.KMS, error) {
	k := cfg.KMS
	switch k.Provider {
	case config.ProviderLocal, "":
		return keys.OpenKeyring(keys.KeyringOptions{Path: k.Keyring, CreateIfMissing: true, DefaultKeyName: k.DefaultKey})
	case config.ProviderAWS:
		return awskms.New(ctx, awskms.Options{
			Endpoint: k.AWS.Endpoint, Region: k.AWS.Region, AccessKey: k.AWS.AccessKey, SecretKey: k.AWS.SecretKey,
			DefaultKeyID: k.DefaultKey, Timeout: k.Timeout,
		})
	case config.ProviderVault:
		o := vault.Options{Address: k.Vault.Address, Token: k.Vault.Token, MountPath: k.Vault.Mount,
			Namespace: k.Vault.Namespace, DefaultKey: k.DefaultKey, Timeout: k.Timeout}
		if k.Vault.Token == "" {
			o.AppRole = &vault.AppRole{RoleID: k.Vault.RoleID, SecretID: k.Vault.SecretID}
		}
		return vault.New(ctx, o)
	case config.ProviderKES:
		return kes.New(kes.Options{Endpoints: k.KES.Endpoints, ClientCert: k.KES.ClientCert, ClientKey: k.KES.ClientKey,
			CAFile: k.KES.CAFile, DefaultKey: k.DefaultKey, Timeout: k.Timeout})
	}
	return nil, fmt.Errorf("kms.provider %q is not supported", k.Provider)
}

// rebinder returns the provider's keys.Rebinder, or nil.
func rebinder(k keys.KMS) keys.Rebinder {
	rb, _ := k.(keys.Rebinder)
	return rb
}

// cachedKMS puts the unwrap cache and the call timeout of cfg in front of k.
func cachedKMS(k keys.KMS, cfg *config.Config) keys.KMS {
	return keys.NewCache(k, keys.CacheOptions{Size: cfg.KMS.CacheSize, Off: cfg.KMS.CacheOff, TTL: cfg.KMS.CacheTTL, Timeout: cfg.KMS.Timeout})
}

// encryptionMode maps encryption.default to the proxy's spelling.
func encryptionMode(v string) string {
	if v == config.EncryptionKMSOSS {
		return proxy.EncryptionKMS
	}
	return v
}

// bucketRules returns the fixed rules of [encryption.buckets.NAME].
func bucketRules(cfg *config.Config) map[string]proxy.BucketRule {
	rules := map[string]proxy.BucketRule{}
	for name, r := range cfg.Encryption.Buckets {
		rules[name] = proxy.BucketRule{Algorithm: encryptionMode(r.Default), KeyID: r.KeyID}
	}
	return rules
}

// limits is the proxy.Authorizer of the credentials' buckets and keys lists.
type limits struct {
	byKey map[string]config.Credential
}

func newLimits(cfg *config.Config) *limits {
	l := &limits{byKey: map[string]config.Credential{}}
	for _, c := range cfg.Credentials {
		l.byKey[c.AccessKey] = c
	}
	return l
}

var _ proxy.Authorizer = (*limits)(nil)

// AllowBucket lets a credential use only its listed buckets, if it lists any.
func (l *limits) AllowBucket(accessKey, bucket string) error {
	c := l.byKey[accessKey]
	if len(c.Buckets) == 0 || slices.Contains(c.Buckets, bucket) {
		return nil
	}
	return s3.ErrAccessDenied
}

// AllowKey lets a credential use only its listed CMKs, if it lists any.
func (l *limits) AllowKey(accessKey, keyID string) error {
	c := l.byKey[accessKey]
	if len(c.Keys) == 0 || slices.Contains(c.Keys, keyID) {
		return nil
	}
	return s3.ErrAccessDenied.WithMessage("The credential is not allowed to use this KMS key.")
}

// bucketFromHost names the bucket of a virtual-hosted-style Host under one
// of domains, as proxy/s3.Classify does.
func bucketFromHost(domains []string) func(host string) (string, bool) {
	return func(host string) (string, bool) {
		for _, d := range domains {
			if b, ok := strings.CutSuffix(host, "."+strings.ToLower(d)); ok && b != "" {
				return b, true
			}
		}
		return "", false
	}
}
