package admincli

import (
	"fmt"
	"strings"
)

// Option is one flag of a command, as Apache declares it with commons-cli
// (new Option(short, long, hasArg, description)).
type Option struct {
	Short, Long string
	HasArg      bool
	Desc        string
	Required    bool
	// Group names a commons-cli OptionGroup: exactly one member must be given when the
	// group is required (GroupRequired on any member).
	Group         string
	GroupRequired bool
}

// common are the options ServerUtil.buildCommandlineOptions adds to every command.
var common = []Option{
	{Short: "h", Long: "help", Desc: "Print help"},
	{Short: "n", Long: "namesrvAddr", HasArg: true, Desc: "Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876'"},
}

// outputOption is the rocketgo addition to listing commands.
var outputOption = Option{Short: "o", Long: "output", HasArg: true, Desc: "output format: text (default, as Apache mqadmin) or json"}

// Flags are the parsed flags of one invocation.
type Flags struct {
	values map[string]string // by short name; "" for flags without argument
}

// Has reports whether the flag was given.
func (f *Flags) Has(short string) bool { _, ok := f.values[short]; return ok }

// Get returns the flag's value, trimmed as Apache's commands do, or "".
func (f *Flags) Get(short string) string { return strings.TrimSpace(f.values[short]) }

// usageError is a command line that does not parse; the command's help follows it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// parse reads args in commons-cli PosixParser style: -x value, -xvalue, --long value,
// --long=value. Unknown options, missing arguments and missing required options fail.
func parse(opts []Option, args []string) (*Flags, error) {
	f := &Flags{values: map[string]string{}}
	find := func(name string, long bool) *Option {
		for i := range opts {
			if (!long && opts[i].Short == name) || (long && opts[i].Long == name) {
				return &opts[i]
			}
		}
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			return nil, &usageError{fmt.Sprintf("Unrecognized argument: %s", a)}
		}
		var o *Option
		var val string
		inline := false
		if strings.HasPrefix(a, "--") {
			name, v, ok := strings.Cut(a[2:], "=")
			o, val, inline = find(name, true), v, ok
		} else if whole := find(a[1:], false); whole != nil {
			o = whole // a short name of several letters (electMaster's -bn), as commons-cli matches it
		} else {
			o = find(a[1:2], false)
			if len(a) > 2 {
				val, inline = a[2:], true
			}
		}
		if o == nil {
			return nil, &usageError{fmt.Sprintf("Unrecognized option: %s", a)}
		}
		if !o.HasArg {
			if inline {
				return nil, &usageError{fmt.Sprintf("Option -%s takes no argument", o.Short)}
			}
			f.values[o.Short] = ""
			continue
		}
		if !inline {
			if i+1 >= len(args) {
				return nil, &usageError{fmt.Sprintf("Missing argument for option: %s", o.Short)}
			}
			i++
			val = args[i]
		}
		f.values[o.Short] = val
	}
	if f.Has("h") {
		return f, nil
	}
	var missing []string
	groups := map[string]bool{}
	for _, o := range opts {
		switch {
		case o.Group != "":
			if o.GroupRequired {
				groups[o.Group] = groups[o.Group] || false
			}
			if f.Has(o.Short) {
				groups[o.Group] = true
			}
		case o.Required && !f.Has(o.Short):
			missing = append(missing, o.Short)
		}
	}
	if len(missing) > 0 {
		return nil, &usageError{"Missing required option" + plural(len(missing)) + ": " + strings.Join(missing, ", ")}
	}
	for _, o := range opts {
		if o.Group != "" && o.GroupRequired && !groups[o.Group] {
			return nil, &usageError{"Missing required option group: " + groupUsage(opts, o.Group)}
		}
	}
	return f, nil
}

func plural(n int) string {
	if n > 1 {
		return "s"
	}
	return ""
}
