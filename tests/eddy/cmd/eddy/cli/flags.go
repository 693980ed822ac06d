package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"maelkit/tests/eddy"
)

// flag is one option of a subcommand: its names, the name of its argument
// ("" for a boolean flag), its help line and what it sets.
type flag struct {
	names []string
	arg   string
	help  string
	set   func(v string) error
}

// command is one subcommand: its flag table and how it words its errors.
// Every subcommand is parsed by parse and helped by writeFlags.
type command struct {
	prefix string // "eddy grade": every message starts with it
	usage  func() string
	flags  []flag

	// positional takes a word that is not an option and says whether it
	// is welcome; nil refuses every such word as an unknown option.
	positional func(word string) bool
	// rest takes the words after "--"; nil makes "--" an unknown option.
	rest func(words []string)
	// collect reads on after a bad option and lets -h anywhere win, as
	// Jepsen's CLI does; otherwise the first bad option or -h ends it.
	collect bool

	// unknown words the refusal of an option or word: word is the whole
	// argument, name its part before any "=".
	unknown func(word, name string) string
	// missingArg names the argument in "needs a value (ARG)".
	missingArg bool
	// usageAfterUnknown and usageAfterMissing append the help to the
	// refusal of an unknown option and of an option without its value.
	usageAfterUnknown, usageAfterMissing bool
}

// cliError is a refused argument; withUsage appends the command's help.
type cliError struct {
	err       error
	withUsage bool
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

func unknownName(_, name string) string { return "unknown option " + name }

// helpFlag is -h/--help, which every command has: a flag without setter,
// which parse answers itself.
var helpFlag = flag{[]string{"-h", "--help"}, "", "print this help and exit", nil}

// parse reads args against c's table. It returns help when -h or --help
// was given (then any other error is dropped) and the first refusal.
func (c *command) parse(args []string) (help bool, err error) {
	byName := map[string]*flag{}
	for i := range c.flags {
		for _, n := range c.flags[i].names {
			byName[n] = &c.flags[i]
		}
	}
	var first error
	fail := func(e error, withUsage bool) bool {
		if first == nil {
			first = &cliError{e, withUsage}
		}
		return !c.collect
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" && c.rest != nil {
			c.rest(args[i+1:])
			break
		}
		if (!strings.HasPrefix(a, "-") || a == "-") && c.positional != nil {
			if !c.positional(a) && fail(eddy.Usagef("%s", c.unknown(a, a)), c.usageAfterUnknown) {
				break
			}
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		f := byName[name]
		if f == nil {
			if fail(eddy.Usagef("%s", c.unknown(a, name)), c.usageAfterUnknown) {
				break
			}
			continue
		}
		if f.arg == "" && hasVal {
			if fail(eddy.Usagef("%s takes no value", name), false) {
				break
			}
			continue
		}
		if f.arg != "" && !hasVal {
			if i+1 >= len(args) {
				msg := name + " needs a value"
				if c.missingArg {
					msg += " (" + f.arg + ")"
				}
				fail(eddy.Usagef("%s", msg), c.usageAfterMissing)
				break
			}
			i++
			val = args[i]
		}
		if f.set == nil {
			if !c.collect {
				return true, nil
			}
			help = true
			continue
		}
		if err := f.set(val); err != nil && fail(err, false) {
			break
		}
	}
	if help {
		return true, nil
	}
	return false, first
}

// refuse prints a refused argument as the command words it and returns
// the usage exit code.
func (c *command) refuse(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", c.prefix, err)
	var ce *cliError
	if errors.As(err, &ce) && ce.withUsage {
		fmt.Fprintf(stderr, "\n%s", c.usage())
	}
	return eddy.ExitUsage
}

// writeFlags renders a flag table, one option a line.
func writeFlags(b *strings.Builder, flags []flag) {
	for _, f := range flags {
		name := strings.Join(f.names, ", ")
		if f.arg != "" {
			name += " " + f.arg
		}
		fmt.Fprintf(b, "  %-28s %s\n", name, f.help)
	}
}

// flagHelp is a flag table's help text.
func flagHelp(flags []flag) string {
	var b strings.Builder
	writeFlags(&b, flags)
	return b.String()
}
