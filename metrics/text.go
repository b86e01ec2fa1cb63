package metrics

import (
	"bufio"
	"math"
	"strconv"
	"strings"
)

// A textWriter writes Prometheus's text exposition format (version
// 0.0.4). Errors stick: the first one is the writer's.
type textWriter struct {
	w *bufio.Writer
}

// header starts a metric family.
func (t *textWriter) header(name, help, kind string) {
	t.w.WriteString("# HELP ")
	t.w.WriteString(name)
	t.w.WriteByte(' ')
	t.w.WriteString(helpEscaper.Replace(help))
	t.w.WriteString("\n# TYPE ")
	t.w.WriteString(name)
	t.w.WriteByte(' ')
	t.w.WriteString(kind)
	t.w.WriteByte('\n')
}

// sample writes one sample; labels are name, value pairs, in the order
// they are written.
func (t *textWriter) sample(name string, v float64, labels ...string) {
	t.w.WriteString(name)
	if len(labels) > 0 {
		t.w.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				t.w.WriteByte(',')
			}
			t.w.WriteString(labels[i])
			t.w.WriteString(`="`)
			t.w.WriteString(labelEscaper.Replace(labels[i+1]))
			t.w.WriteByte('"')
		}
		t.w.WriteByte('}')
	}
	t.w.WriteByte(' ')
	t.w.WriteString(formatFloat(v))
	t.w.WriteByte('\n')
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// formatFloat writes v as the format wants it.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
