package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/alumnipass/alumnipass/internal/offline"
)

// statusFiles collects repeated --status flags: a full list, then deltas.
type statusFiles []string

func (s *statusFiles) String() string     { return strings.Join(*s, ",") }
func (s *statusFiles) Set(v string) error { *s = append(*s, v); return nil }

// cmdVerifyOffline decides about a code from keys.json and the status list
// as downloaded from the two well-known URLs: no database, no network. It
// prints the verdict as JSON; the exit status is 0 whenever a verdict was
// reached, whatever its result, as a decided outcome is HTTP 200 online.
func cmdVerifyOffline(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("verify-offline", flag.ContinueOnError)
	fl.SetOutput(stderr)
	keysPath := fl.String("keys", "", "keys.json from /.well-known/alumnipass/keys.json")
	var status statusFiles
	fl.Var(&status, "status", "status list from /.well-known/alumnipass/status-list; repeat for deltas (?since=SEQ) after the full list")
	maxAge := fl.Duration("max-age", offline.DefaultMaxAge, "refuse everything once the status list is older than this")
	at := fl.String("at", "", "decide at this time (RFC 3339) instead of now")
	if err := fl.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *keysPath == "" || len(status) == 0 || fl.NArg() != 1 {
		return usageError("verify-offline takes --keys KEYS.json --status STATUS-LIST and one CODE (- reads it from standard input)")
	}
	code := fl.Arg(0)
	if code == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 4096))
		if err != nil {
			return fmt.Errorf("read code: %w", err)
		}
		code = string(b)
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError("--at: " + err.Error())
		}
		now = t
	}
	kb, err := os.ReadFile(*keysPath)
	if err != nil {
		return fmt.Errorf("read keys: %w", err)
	}
	keys, err := offline.ParseKeys(kb)
	if err != nil {
		return err
	}
	lists := make([][]byte, 0, len(status))
	for _, p := range status {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read status list: %w", err)
		}
		lists = append(lists, b)
	}
	st, err := offline.LoadStatus(keys, lists[0], lists[1:]...)
	if err != nil {
		return err
	}
	v := offline.Decide(keys, st, code, now.UTC(), offline.Options{MaxAge: *maxAge})
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
