package admincli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/code"
)

// Command is one mqadmin sub command: Apache's commandName, commandDesc and options.
type Command struct {
	Name string
	Desc string
	Opts []Option
	// Listing commands also take -o json.
	Listing bool
	Run     func(e *Env, f *Flags) error
}

func (c *Command) options() []Option {
	opts := append([]Option{}, common...)
	opts = append(opts, c.Opts...)
	if c.Listing {
		opts = append(opts, outputOption)
	}
	return opts
}

// Env is what a command runs with: its output streams, its admin client and its clock.
type Env struct {
	Ctx    context.Context
	Out    io.Writer
	Err    io.Writer
	Loc    *time.Location // for printed times; Apache prints local time
	Now    func() time.Time
	flags  *Flags
	admin  *client.Admin
	nsAddr []string
	tls    *tls.Config         // from the -D settings before the sub command (tls.go); nil: plain
	creds  *client.Credentials // credentials.go; nil: unsigned
}

// Admin returns the admin client of the invocation, connecting it on first use to the
// NameServers of -n (or NAMESRV_ADDR).
func (e *Env) Admin() (*client.Admin, error) {
	if e.admin != nil {
		return e.admin, nil
	}
	if len(e.nsAddr) == 0 {
		return nil, errors.New("no name server address: give -n host:port or set NAMESRV_ADDR")
	}
	opts := []client.AdminOption{client.WithNameServer(e.nsAddr...), client.WithTLS(e.tls), client.WithInstanceName(fmt.Sprintf("mqadmin-%d", os.Getpid()))}
	if e.creds != nil {
		opts = append(opts, client.WithCredentials(*e.creds))
	}
	a, err := client.NewAdmin(opts...)
	if err != nil {
		return nil, err
	}
	e.admin = a
	return a, nil
}

// JSON reports whether -o json was given (and checks -o's value).
func (e *Env) JSON() (bool, error) {
	switch v := e.flags.Get("o"); v {
	case "", "text":
		return false, nil
	case "json":
		return true, nil
	default:
		return false, fmt.Errorf("-o %q: want text or json", v)
	}
}

// printJSON writes v indented, one document.
func (e *Env) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.Out, "%s\n", b)
	return err
}

func (e *Env) printf(format string, args ...any) { fmt.Fprintf(e.Out, format, args...) }

// humanTime2 is UtilAll.timeMillisToHumanString2: yyyy-MM-dd HH:mm:ss,SSS.
func (e *Env) humanTime2(ms int64) string {
	return time.UnixMilli(ms).In(e.Loc).Format("2006-01-02 15:04:05,000")
}

// Main runs mqadmin with args (without the program name) and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &Env{Ctx: ctx, Out: stdout, Err: stderr, Loc: time.Local, Now: time.Now}
	defer func() {
		if e.admin != nil {
			e.admin.Close()
		}
	}()
	props, args, err := takeSystemProperties(args)
	if err == nil {
		e.tls, err = tlsConfig(props)
	}
	var ak, sk string
	if err == nil {
		args, ak, sk, err = globalFlags(args)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mqadmin: %v\n", err)
		return 1
	}
	if ak != "" {
		e.creds = &client.Credentials{AccessKey: ak, SecretKey: sk}
	} else if c, ok, err := toolsCredentials(); err != nil {
		fmt.Fprintf(stderr, "mqadmin: %v\n", err)
		return 1
	} else if ok {
		e.creds = &c
	}
	switch {
	case len(args) == 0:
		printHelp(stdout)
		return 0
	case args[0] == "help" && len(args) == 2:
		c := find(args[1])
		if c == nil {
			fmt.Fprintf(stderr, "The sub command %s not exist.\n", args[1])
			return 1
		}
		fmt.Fprint(stdout, commandHelp(c.Name, c.options()))
		return 0
	case args[0] == "help" && len(args) == 1:
		printHelp(stdout)
		return 0
	}
	c := find(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "The sub command %s not exist.\n", args[0])
		return 1
	}
	f, err := parse(c.options(), args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "mqadmin %s: %v\n%s", c.Name, err, commandHelp(c.Name, c.options()))
		return 1
	}
	if f.Has("h") {
		fmt.Fprint(stdout, commandHelp(c.Name, c.options()))
		return 0
	}
	e.flags = f
	ns := f.Get("n")
	if ns == "" {
		ns = os.Getenv("NAMESRV_ADDR")
	}
	for _, a := range strings.Split(ns, ";") {
		if a = strings.TrimSpace(a); a != "" {
			e.nsAddr = append(e.nsAddr, a)
		}
	}
	if _, err := e.JSON(); err != nil && c.Listing {
		fmt.Fprintf(stderr, "mqadmin %s: %v\n", c.Name, err)
		return 1
	}
	if err := c.Run(e, f); err != nil {
		fmt.Fprintf(stderr, "mqadmin %s: %s\n", c.Name, describe(err))
		return 1
	}
	return 0
}

// describe turns an error into its one-line reason, naming an unsupported request as
// such.
func describe(err error) string {
	if errors.Is(err, client.ErrNotSupported) {
		return "not supported by this broker (REQUEST_CODE_NOT_SUPPORTED): " + err.Error()
	}
	if be := (*client.BrokerError)(nil); errors.As(err, &be) && be.Code == code.NoPermission {
		return "refused (NO_PERMISSION): " + err.Error()
	}
	return err.Error()
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "The most commonly used mqadmin commands are:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "   %-20s %s\n", c.Name, c.Desc)
	}
	fmt.Fprintf(w, "\nSee 'mqadmin help <command>' for more information on a specific command.\n")
}

// find looks a command up by name, ignoring case as Apache does.
func find(name string) *Command {
	for _, c := range commands {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}
