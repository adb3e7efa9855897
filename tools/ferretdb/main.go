// Command ferretdb runs FerretDB v1 with its SQLite backend: the MongoDB wire protocol server that
// StoryBang's tests use in place of MongoDB (see the "Test infrastructure" section of docs/architecture.md).
//
// It exists because a plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb` panics: FerretDB's
// own main package reads build/version/version.txt, which is generated at release time and absent from
// the module proxy. That check only runs when FerretDB itself is the main module, so this module embeds
// FerretDB through its public package instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27018", "TCP address to listen on (host:port)")
	sqliteDir := flag.String("sqlite-dir", "", "directory holding one SQLite file per database (created if missing)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn or error")
	flag.Parse()

	if err := run(*listenAddr, *sqliteDir, *logLevel); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}

func run(listenAddr, sqliteDir, logLevel string) error {
	if sqliteDir == "" {
		return fmt.Errorf("--sqlite-dir is required")
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}

	sqliteURL, err := sqliteURL(sqliteDir)
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	// SIGTERM is what scripts/servers.sh sends on stop; Run returns once the listener and the SQLite
	// connections are closed, so the data files are consistent when the process exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Info("starting FerretDB v1 with the SQLite backend", "addr", listenAddr, "sqlite", sqliteURL)

	return f.Run(ctx)
}

// sqliteURL turns a directory into the URI FerretDB's SQLite backend expects: the "file:" scheme, an
// existing directory, and a path ending with "/".
func sqliteURL(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("--sqlite-dir: %w", err)
	}

	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("--sqlite-dir: %w", err)
	}

	u := url.URL{Scheme: "file", Path: abs + "/", OmitHost: true}

	return u.String(), nil
}
