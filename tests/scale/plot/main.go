// Command plot draws docs/img/scale.png from the figures tests/scale appends to
// ROCKETGO_SCALE_OUT (one `scale figure=… key=value …` line per figure, tab-separated):
//
//	go run . -o ../../../docs/img/scale.png -before /tmp/scale-before.tsv /tmp/scale-out.tsv
//
// The lines of -before are a baseline build's: the panels that compare builds draw
// them beside the others.
// It is a module of its own so that rocketgo's main module does not depend on the
// plotting library.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image/color"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// row is one figure line: its name and its key=value pairs; before marks the
// baseline's lines.
type row struct {
	figure string
	kv     map[string]float64
	before bool
}

func main() {
	out := flag.String("o", "scale.png", "the PNG to write")
	before := flag.String("before", "", "figure lines of a baseline build, drawn beside the others where builds are compared")
	flag.Parse()
	var rows []row
	for _, path := range flag.Args() {
		r, err := read(path)
		if err != nil {
			log.Fatal(err)
		}
		rows = append(rows, r...)
	}
	if *before != "" {
		r, err := read(*before)
		if err != nil {
			log.Fatal(err)
		}
		for i := range r {
			r[i].before = true
		}
		rows = append(rows, r...)
	}
	panels := [][]*plot.Plot{
		{
			panel("Broker and NameServer memory vs queues", "queues (topics × 8)", "MiB", rows, "topics", "queues",
				series{name: "broker RSS", key: "rss_bytes", div: 1 << 20}, series{name: "broker Go heap", key: "heap_bytes", div: 1 << 20},
				series{name: "NameServer RSS", key: "namesrv_rss_bytes", div: 1 << 20}),
			panel("REGISTER_BROKER body vs topics", "topics", "KiB", rows, "topics", "topics",
				series{name: "JSON (as sent)", key: "register_json_bytes", div: 1 << 10}, series{name: "zlib form", key: "register_zlib_bytes", div: 1 << 10}),
		},
		{
			panel("Cost per topic created, and per registration", "topics", "ms", rows, "topics", "topics",
				series{name: "wall time per topic created", key: "create_ms_per_topic", div: 1},
				series{name: "broker CPU per topic created", key: "create_broker_cpu_ms_per_topic", div: 1},
				series{name: "NameServer CPU per JSON registration", key: "register_json_cpu_ms", div: 1},
				series{name: "NameServer CPU per zlib registration", key: "register_zlib_cpu_ms", div: 1}),
			panel("Broker memory vs idle connections", "connections (one HEART_BEAT each)", "MiB", rows, "conns", "conns",
				series{name: "broker RSS", key: "rss_bytes", div: 1 << 20}, series{name: "broker Go heap", key: "heap_bytes", div: 1 << 20}),
		},
		{
			panel("Time to create the first N topics", "topics", "s", rows, "create", "topics",
				series{name: "one at a time, before", key: "seconds", div: 1, before: true, inflight: 1},
				series{name: "32 in flight, before", key: "seconds", div: 1, before: true, inflight: 32},
				series{name: "one at a time", key: "seconds", div: 1, inflight: 1},
				series{name: "32 in flight", key: "seconds", div: 1, inflight: 32}),
			panel("Recovery without checkpoint nor ConsumeQueues (cold, best of 3)", "CommitLog (GiB)", "s", rows, "recovery_inprocess", "log_gib",
				series{name: "before (verify, then re-dispatch)", key: "seconds", div: 1, before: true},
				series{name: "re-dispatch following the verification", key: "seconds", div: 1}),
		},
	}
	const w, h = 11 * vg.Inch, 12 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(panels, tiles, dc)
	for i := range panels {
		for j := range panels[i] {
			panels[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// series is one line of a panel: a key of the figure lines, divided by div, of the
// baseline's lines when before, and of those whose inflight is inflight when it is
// not zero.
type series struct {
	name     string
	key      string
	div      float64
	before   bool
	inflight float64
}

var colors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// panel draws the series of the figure lines named figure against key x.
func panel(title, xLabel, yLabel string, rows []row, figure, x string, ss ...series) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		var xys plotter.XYs
		for _, r := range rows {
			xv, okX := r.kv[x]
			yv, okY := r.kv[s.key]
			if s.inflight != 0 && r.kv["inflight"] != s.inflight {
				continue
			}
			if r.figure == figure && r.before == s.before && okX && okY {
				xys = append(xys, plotter.XY{X: xv, Y: yv / s.div})
			}
		}
		if len(xys) == 0 {
			continue
		}
		sort.Slice(xys, func(a, b int) bool { return xys[a].X < xys[b].X })
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			log.Fatal(err)
		}
		l.Color, pts.Color = colors[i%len(colors)], colors[i%len(colors)]
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	return p
}

// read parses the figure lines of one file.
func read(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for len(fields) > 0 && fields[0] != "scale" { // a test log's file:line prefix
			fields = fields[1:]
		}
		if len(fields) < 2 {
			continue
		}
		r := row{kv: map[string]float64{}}
		for _, fl := range fields[1:] {
			k, v, _ := strings.Cut(fl, "=")
			if k == "figure" {
				r.figure = v
				continue
			}
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				r.kv[k] = n
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}
