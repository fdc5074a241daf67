package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sseproxy/sseproxy/backend"
	"github.com/sseproxy/sseproxy/config"
	"github.com/sseproxy/sseproxy/keys"
	"github.com/sseproxy/sseproxy/rewrap"
)

const keysUsage = `usage:
  sseproxy keys create  [--config FILE | --keyring PATH] NAME
  sseproxy keys import  [--config FILE | --keyring PATH] NAME HEXKEY|-   (32 bytes of key material, hex or base64; - reads stdin)
  sseproxy keys rotate  [--config FILE | --keyring PATH] NAME
  sseproxy keys disable [--config FILE | --keyring PATH] NAME
  sseproxy keys enable  [--config FILE | --keyring PATH] NAME
  sseproxy keys list    [--config FILE | --keyring PATH]
  sseproxy keys usage   --config FILE --bucket B [--prefix P]
`

// keysCommand implements `sseproxy keys ...`: managing the local keyring
// (BYOK import, rotation) and reporting which CMK versions protect a bucket.
func keysCommand(args []string) error {
	if len(args) == 0 {
		return errors.New(keysUsage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file (its [kms] keyring)")
	ringPath := fs.String("keyring", "", "keyring file (default: the config's, else ./sseproxy-keys.json)")
	bucket := fs.String("bucket", "", "bucket to report on (usage)")
	prefix := fs.String("prefix", "", "key prefix to report on (usage)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg := config.Default()
	if *cfgPath != "" {
		var err error
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	if *ringPath == "" {
		*ringPath = cfg.KMS.Keyring
	}
	if sub == "usage" {
		return keysUsageReport(cfg, *bucket, *prefix)
	}
	ring, err := keys.OpenKeyring(keys.KeyringOptions{Path: *ringPath, CreateIfMissing: sub == "create" || sub == "import"})
	if err != nil {
		return err
	}
	name := fs.Arg(0)
	needName := func() error {
		if name == "" {
			return errors.New(keysUsage)
		}
		return nil
	}
	switch sub {
	case "create":
		if err := needName(); err != nil {
			return err
		}
		if err := ring.Create(name); err != nil {
			return err
		}
		fmt.Printf("created key %s (version 1)\n", name)
	case "import":
		if err := needName(); err != nil {
			return err
		}
		material, err := readMaterial(fs.Arg(1))
		if err != nil {
			return err
		}
		defer clear(material)
		if err := ring.Import(name, material); err != nil {
			return err
		}
		fmt.Printf("imported key %s (version 1)\n", name)
	case "rotate":
		if err := needName(); err != nil {
			return err
		}
		v, err := ring.Rotate(name)
		if err != nil {
			return err
		}
		fmt.Printf("rotated key %s: new objects use version %d; older versions still decrypt\n", name, v)
	case "disable":
		if err := needName(); err != nil {
			return err
		}
		return ring.Disable(name)
	case "enable":
		if err := needName(); err != nil {
			return err
		}
		return ring.Enable(name)
	case "list":
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tVERSION\tVERSIONS\tSTATE\tDEFAULT")
		for _, k := range ring.List() {
			state := "enabled"
			if k.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%v\n", k.Name, k.CurrentVersion, len(k.Versions), state, k.Default)
		}
		return w.Flush()
	default:
		return errors.New(keysUsage)
	}
	return nil
}

// readMaterial reads 32 bytes of BYOK key material, hex or base64, from the
// argument or (for "-" or no argument) standard input, so it need not
// appear in the process list.
func readMaterial(arg string) ([]byte, error) {
	text := arg
	if arg == "" || arg == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1024))
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	text = strings.TrimSpace(text)
	if b, err := hex.DecodeString(text); err == nil && len(b) == keys.DataKeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(text); err == nil && len(b) == keys.DataKeySize {
		return b, nil
	}
	return nil, errors.New("key material must be 32 bytes, hex or base64")
}

// rewrapCommand implements `sseproxy rewrap`.
func rewrapCommand(args []string) error {
	fs := flag.NewFlagSet("rewrap", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file (backend and KMS)")
	bucket := fs.String("bucket", "", "bucket whose objects to re-wrap (required)")
	prefix := fs.String("prefix", "", "only keys with this prefix")
	toKey := fs.String("to-key", "", "move every object to this CMK (default: each object's CMK, newest version)")
	startAfter := fs.String("start-after", "", "resume after this key (printed by an interrupted run)")
	dryRun := fs.Bool("dry-run", false, "report what would change, change nothing")
	workers := fs.Int("workers", 4, "objects re-wrapped at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath == "" || *bucket == "" {
		return errors.New("usage: sseproxy rewrap --config FILE --bucket B [--prefix P] [--to-key K] [--dry-run] [--start-after KEY]")
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	store, kms, err := maintenanceClients(cfg)
	if err != nil {
		return err
	}
	rw, ok := kms.(keys.Rewrapper)
	if !ok {
		return fmt.Errorf("kms provider %q cannot re-wrap keys", cfg.KMS.Provider)
	}
	versions, _ := kms.(keys.Versioner)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	progress := newProgress()
	sum, err := rewrap.Run(ctx, rewrap.Options{
		Store: store, KMS: rw, Versions: versions, Bucket: *bucket, Prefix: *prefix,
		StartAfter: *startAfter, ToKey: *toKey, DryRun: *dryRun, Workers: *workers,
		Progress: progress.update,
	})
	progress.done()
	verb := "rewrapped"
	if *dryRun {
		verb = "would rewrap"
	}
	fmt.Printf("scanned %d objects: %s %d (%d bytes), up to date %d, plaintext %d, failed %d\n",
		sum.Scanned, verb, sum.Rewrapped, sum.Bytes, sum.UpToDate, sum.Plaintext, sum.Failed)
	for _, e := range sum.Errors {
		fmt.Println("  failed:", e)
	}
	if err != nil {
		if sum.LastKey != "" {
			fmt.Printf("interrupted; resume with --start-after %q\n", sum.LastKey)
		}
		return err
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d objects failed", sum.Failed)
	}
	return nil
}

// keysUsageReport implements `sseproxy keys usage`.
func keysUsageReport(cfg *config.Config, bucket, prefix string) error {
	if bucket == "" {
		return errors.New("usage: sseproxy keys usage --config FILE --bucket B [--prefix P]")
	}
	store, kms, err := maintenanceClients(cfg)
	if err != nil {
		return err
	}
	versions, _ := kms.(keys.Versioner)
	rows, err := rewrap.Usage(context.Background(), store, versions, bucket, prefix)
	if err != nil {
		return err
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].KeyID != rows[j].KeyID {
			return rows[i].KeyID < rows[j].KeyID
		}
		return rows[i].Version < rows[j].Version
	})
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KEY ID\tVERSION\tOBJECTS\tBYTES")
	for _, r := range rows {
		id, v := r.KeyID, r.Version
		if id == "" {
			id = "(plaintext)"
		}
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\n", id, v, r.Objects, r.Bytes)
	}
	return w.Flush()
}

// maintenanceClients opens the backend and the KMS a configuration names.
func maintenanceClients(cfg *config.Config) (*backend.Client, keys.KMS, error) {
	if cfg.DevMode() {
		return nil, nil, errors.New("maintenance commands need backend.endpoint (development mode's store runs inside serve)")
	}
	store, err := newBackend(cfg)
	if err != nil {
		return nil, nil, err
	}
	kms, err := openKMS(context.Background(), cfg)
	return store, kms, err
}

// progress draws a one-line progress report on a terminal.
type progress struct {
	tty bool
}

func newProgress() *progress {
	fi, err := os.Stderr.Stat()
	return &progress{tty: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (p *progress) update(pr rewrap.Progress) {
	if p.tty && pr.Scanned%10 == 0 {
		fmt.Fprintf(os.Stderr, "\r%d objects, at %.60s", pr.Scanned, pr.LastKey)
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(os.Stderr)
	}
}
