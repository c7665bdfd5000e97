package admincli

import (
	"slices"
	"strings"
)

// helpWidth is the width ServerUtil gives commons-cli's HelpFormatter.
const helpWidth = 110

// commandHelp renders what `mqadmin help <command>` prints: commons-cli 1.2's
// HelpFormatter.printHelp("mqadmin "+name, options, true) at width 110 — the usage line
// with the options sorted by short name, then one line per option.
func commandHelp(name string, opts []Option) string {
	sorted := slices.Clone(opts)
	slices.SortStableFunc(sorted, func(a, b Option) int {
		return strings.Compare(strings.ToLower(a.Short), strings.ToLower(b.Short))
	})
	app := "mqadmin " + name
	var u strings.Builder
	u.WriteString("usage: " + app + " ")
	done := map[string]bool{}
	for i, o := range sorted {
		if o.Group != "" {
			if !done[o.Group] {
				done[o.Group] = true
				u.WriteString(groupUsage(sorted, o.Group))
			}
		} else {
			u.WriteString(optUsage(o, o.Required))
		}
		if i < len(sorted)-1 {
			u.WriteString(" ")
		}
	}
	var sb strings.Builder
	// commons-cli 1.2 (RocketMQ 4.9's version) indents continuation lines of the usage
	// by the position after "usage: ".
	wrapText(&sb, helpWidth, strings.Index(u.String(), " ")+1, u.String())
	sb.WriteString("\n")

	prefixes := make([]string, len(sorted))
	width := 0
	for i, o := range sorted {
		p := " -" + o.Short
		if o.Long != "" {
			p += ",--" + o.Long
		}
		if o.HasArg {
			p += " <arg>"
		}
		prefixes[i] = p
		width = max(width, len(p))
	}
	for i, o := range sorted {
		line := prefixes[i] + strings.Repeat(" ", width-len(prefixes[i])) + "   " + o.Desc
		wrapText(&sb, helpWidth, width+3, line)
		sb.WriteString("\n")
	}
	return sb.String()
}

// groupUsage renders an option group the commons-cli way: "-b <arg> | -c <arg>",
// bracketed when the group is optional.
func groupUsage(opts []Option, group string) string {
	var parts []string
	req := false
	for _, o := range opts {
		if o.Group == group {
			parts = append(parts, optUsage(o, true))
			req = req || o.GroupRequired
		}
	}
	s := strings.Join(parts, " | ")
	if !req {
		s = "[" + s + "]"
	}
	return s
}

func optUsage(o Option, required bool) string {
	s := "-" + o.Short
	if o.HasArg {
		s += " <arg>"
	}
	if !required {
		s = "[" + s + "]"
	}
	return s
}

// wrapText is commons-cli's renderWrappedText: break at the last space within width,
// indent continuation lines by tab.
func wrapText(sb *strings.Builder, width, tab int, text string) {
	pos := findWrapPos(text, width, 0)
	if pos == -1 {
		sb.WriteString(strings.TrimRight(text, " \t\r\n"))
		return
	}
	sb.WriteString(strings.TrimRight(text[:pos], " \t\r\n") + "\n")
	if tab >= width {
		tab = 1
	}
	pad := strings.Repeat(" ", tab)
	for {
		text = pad + strings.TrimSpace(text[pos:])
		pos = findWrapPos(text, width, 0)
		if pos == -1 {
			sb.WriteString(text)
			return
		}
		if len(text) > width && pos == tab-1 {
			pos = width
		}
		sb.WriteString(strings.TrimRight(text[:pos], " \t\r\n") + "\n")
	}
}

func findWrapPos(text string, width, start int) int {
	if p := strings.IndexByte(text[start:], '\n'); p != -1 && start+p <= width {
		return start + p + 1
	}
	if p := strings.IndexByte(text[start:], '\t'); p != -1 && start+p <= width {
		return start + p + 1
	}
	if start+width >= len(text) {
		return -1
	}
	pos := start + width
	for pos >= start && text[pos] != ' ' && text[pos] != '\n' && text[pos] != '\r' {
		pos--
	}
	if pos > start {
		return pos
	}
	pos = start + width
	for pos < len(text) && text[pos] != ' ' && text[pos] != '\n' && text[pos] != '\r' {
		pos++
	}
	if pos == len(text) {
		return -1
	}
	return pos
}
