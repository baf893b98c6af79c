package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"
)

// chart is one training curve as an SVG polyline.
type chart struct {
	Title          string
	Points         string // "x,y x,y …" in the chart's coordinates
	Min, Max, Last string
	First, LastEp  int
}

// Chart geometry (SVG user units).
const (
	chartW, chartH = 360.0, 140.0
	chartPad       = 8.0
)

// charts draws one curve per recorded quantity: the monitored objective,
// the learning rate and every metric.
func charts(es []Epoch) []chart {
	if len(es) == 0 {
		return nil
	}
	series := map[string][]float64{"objective": nil, "learning rate": nil}
	var names []string
	for _, e := range es {
		for k := range e.Metrics {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	names = append([]string{"objective", "learning rate"}, names...)
	for _, e := range es {
		series["objective"] = append(series["objective"], e.Objective)
		series["learning rate"] = append(series["learning rate"], e.LR)
		for _, k := range names[2:] {
			v, ok := e.Metrics[k]
			if !ok {
				v = math.NaN()
			}
			series[k] = append(series[k], v)
		}
	}
	var out []chart
	for _, name := range names {
		vs := series[name]
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range vs {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		if lo > hi {
			continue
		}
		span := hi - lo
		if span == 0 {
			span = 1
		}
		var pts []string
		for i, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			x := chartPad
			if len(vs) > 1 {
				x += float64(i) / float64(len(vs)-1) * (chartW - 2*chartPad)
			}
			y := chartH - chartPad - (v-lo)/span*(chartH-2*chartPad)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		}
		out = append(out, chart{Title: name, Points: strings.Join(pts, " "), Min: num(lo), Max: num(hi), Last: num(vs[len(vs)-1]),
			First: es[0].Epoch, LastEp: es[len(es)-1].Epoch})
	}
	return out
}

func num(v float64) string { return fmt.Sprintf("%.4g", v) }

var pages = template.Must(template.New("pages").Funcs(template.FuncMap{
	"pct": func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"eta": func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return "≤ " + d.Round(time.Second).String()
	},
	"W": func() float64 { return chartW },
	"H": func() float64 { return chartH },
}).Parse(pageTemplates))

const pageTemplates = `
{{define "head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<title>{{.Title}}</title>
<style>
body { font-family: "Helvetica Neue", Arial, sans-serif; color: #222; margin: 0; background: #f6f6f4; line-height: 1.4; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 32px 40px; background: #fff; }
h1 { font-size: 1.5em; margin: 0.2em 0 0.3em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e4e4; text-align: left; white-space: nowrap; }
th { background: #f0f0ec; }
td.num { text-align: right; }
.state { font-weight: 600; }
.state-done { color: #2a7a2a; } .state-running, .state-started { color: #1f5fa8; } .state-failed { color: #b02a2a; } .state-pending { color: #888; }
.bar { display: inline-block; width: 90px; height: 0.7em; background: #eee; vertical-align: middle; }
.bar span { display: block; height: 100%; background: #5b8fd0; }
pre { background: #fafaf7; border: 1px solid #e4e4e4; padding: 10px; overflow-x: auto; font-size: 0.85em; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
.charts figure { margin: 0; width: 362px; }
svg { background: #fcfcfa; border: 1px solid #e4e4e4; }
figure img { max-width: 100%; border: 1px solid #eee; }
.muted { color: #777; font-size: 0.9em; }
</style>
</head>
<body><main>{{end}}

{{define "foot"}}</main></body></html>
{{end}}
`

func init() {
	template.Must(pages.Parse(`
{{define "index"}}{{template "head" .}}
<h1>cotrain experiments</h1>
<table id="experiments">
<tr><th>id</th><th>experiment</th><th>jobs done</th><th>folder</th></tr>
{{range .Experiments}}<tr><td class="num">{{.ID}}</td><td><a href="/e/{{.ID}}/">{{.Name}}</a></td><td class="num">{{.Done}} / {{.Total}}</td><td>{{.Root}}</td></tr>
{{else}}<tr><td colspan="4">no experiments yet</td></tr>{{end}}
</table>
{{template "foot"}}{{end}}

{{define "experiment"}}{{template "head" .}}
<h1>{{.Name}}</h1>
<p class="muted">{{.Done}} of {{.Total}} jobs done · files in {{.Root}} · read {{.Now}}{{if .Refresh}} · reloads every {{.Refresh}} s{{end}}</p>
<h2>Jobs</h2>
<table id="jobs">
<tr><th>#</th><th>job</th><th>state</th><th>progress</th><th>ETA</th><th>worker</th><th>attempts</th></tr>
{{range .Jobs}}<tr id="job-{{.Number}}" data-state="{{.State}}">
<td class="num">{{.Number}}</td>
<td><a href="jobs/{{.Number}}">{{.Name}}</a>{{if .Error}}<div class="state-failed">{{.Error}}</div>{{end}}</td>
<td class="state state-{{.State}}">{{.State}}</td>
<td><span class="bar"><span style="width: {{pct .Progress}}"></span></span> {{if .Epochs}}{{.EpochsDone}}/{{.Epochs}} epochs{{else}}{{pct .Progress}}{{end}}</td>
<td>{{eta .ETA}}</td><td>{{.Worker}}</td><td class="num">{{if .Attempts}}{{.Attempts}}{{end}}</td>
</tr>
{{end}}</table>
<h2>Results</h2>
{{if .Table}}<pre id="results">{{.Table}}</pre>{{else}}<p id="results" class="muted">The table appears when the report job is done.</p>{{end}}
{{if .Figures}}<h2>Figures</h2>
{{range .Figures}}<figure><img src="figures/{{.}}" alt="{{.}}"><figcaption class="muted">{{.}}</figcaption></figure>
{{end}}{{end}}
{{template "foot"}}{{end}}

{{define "job"}}{{template "head" .}}
<p class="muted"><a href="/e/{{.Experiment.ID}}/">{{.Experiment.Name}}</a></p>
<h1>{{.Job.Number}}. {{.Job.Name}}</h1>
<p><span class="state state-{{.Job.State}}" id="state">{{.Job.State}}</span>{{if .Job.Epochs}} · {{.Job.EpochsDone}}/{{.Job.Epochs}} epochs{{end}}{{with eta .Job.ETA}} · ETA {{.}}{{end}}{{if .Job.Worker}} · worker {{.Job.Worker}}{{end}}</p>
{{if .Job.Error}}<p class="state-failed">{{.Job.Error}}</p>{{end}}
{{if .Charts}}<h2>Training curves</h2>
<div class="charts">
{{range .Charts}}<figure><svg width="{{W}}" height="{{H}}" viewBox="0 0 {{W}} {{H}}" role="img" aria-label="{{.Title}}"><polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="{{.Points}}"/></svg>
<figcaption><b>{{.Title}}</b> · epochs {{.First}}–{{.LastEp}} · min {{.Min}}, max {{.Max}}, last {{.Last}}</figcaption></figure>
{{end}}</div>
<h2>Epochs</h2>
<table id="epochs"><tr><th>epoch</th><th>lr</th><th>objective</th><th>seconds</th></tr>
{{range .Epochs}}<tr><td class="num">{{.Epoch}}</td><td class="num">{{printf "%.3g" .LR}}</td><td class="num">{{printf "%.5g" .Objective}}</td><td class="num">{{printf "%.1f" .Seconds}}</td></tr>
{{end}}</table>
{{else}}<p class="muted">No epoch recorded{{if .Job.Epochs}} yet{{else}}: not a training job{{end}}.</p>{{end}}
{{template "foot"}}{{end}}
`))
}
