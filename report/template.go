package report

// pageTemplate is the html/template of report.html. It references no
// external resource: styles are inline and images are data URIs.
const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: "Helvetica Neue", Arial, sans-serif; color: #222; margin: 0; background: #f6f6f4; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 1.6em; margin: 0.2em 0 0.4em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.4em; }
p, li { max-width: 900px; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; white-space: nowrap; }
th { background: #f0f0ec; font-weight: 600; }
td:first-child, th:first-child { text-align: left; }
table.meta td { text-align: left; border: none; padding: 2px 12px 2px 0; white-space: normal; }
table.meta td:first-child { color: #666; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.5em; vertical-align: -0.1em; border: 1px solid #888; }
figure { margin: 1.2em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.92em; color: #444; max-width: 900px; margin-top: 0.4em; }
figcaption b { color: #222; }
.pair { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.pair figure { flex: 1 1 360px; }
.def { background: #f7f7fb; border-left: 3px solid #99a; padding: 8px 14px; max-width: 880px; }
.err { color: #a33; }
details { margin: 0.6em 0; }
summary { cursor: pointer; color: #335; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<table class="meta">
{{- range .Meta}}
<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>
{{- end}}
</table>

<h2>Results</h2>
<div class="def">
<p><b>Robustness score</b> (Safarani et al. 2021, Results):
(1/C) Σ<sub>c</sub> Ā<sub>c</sub>(model) / Ā<sub>c</sub>({{.Baseline}}) over the C = {{.NumCorr}} corruptions,
where Ā<sub>c</sub> is the top-1 accuracy on corruption c averaged over the {{.Severities}} severity levels and over the seeds;
{{.Baseline}} = 100 %. A category score is the same mean over the corruptions of one category
(Noise, Blur, Weather, Digital). Clean accuracy is the mean ± standard deviation over seeds (Table 2 of the paper).
Errors of robustness values are bootstrap standard deviations over the {{.NumImages}} test images
({{.Replicates}} replicates; one draw of images per replicate is shared by all seeds, corruptions, severities and both models).
V1 FEVe is the fraction of explainable variance explained on the test recordings (the paper's "Neural Prediction [FEV]"),
mean over seeds ± std over seeds.</p>
</div>
<table>
<tr>{{range .Models.Header}}<th>{{.}}</th>{{end}}</tr>
{{- range .Models.Rows}}
<tr>{{$sw := .Swatch}}{{range $i, $c := .Cells}}<td>{{if eq $i 0}}<span class="swatch" style="background: {{$sw}}"></span>{{end}}{{$c}}</td>{{end}}</tr>
{{- end}}
</table>

<h2>Figures</h2>
{{- if .Pairs}}
<div class="pair">
{{- range .Pairs}}
<figure id="{{.Name}}">
<img {{.Src}} width="{{.Width}}" height="{{.Height}}" alt="{{.Title}}">
<figcaption><b>{{.Title}}.</b> {{.Caption}}</figcaption>
</figure>
{{- end}}
</div>
{{- end}}
{{- range .Figures}}
<figure id="{{.Name}}">
<img {{.Src}} width="{{.Width}}" height="{{.Height}}" alt="{{.Title}}">
<figcaption><b>{{.Title}}.</b> {{.Caption}}</figcaption>
</figure>
{{- end}}

{{- if .Ratios.Rows}}
<h2>Robustness per corruption</h2>
<p>Ā<sub>c</sub>(model) / Ā<sub>c</sub>({{.Baseline}}) in percent ± bootstrap standard deviation.
{{- with .Exemplars}} Fig. 2 shows the best ({{.Best}}), median ({{.Median}}) and worst ({{.Worst}}) corruption of {{.Model}}.{{end}}</p>
<table>
<tr>{{range .Ratios.Header}}<th>{{.}}</th>{{end}}</tr>
{{- range .Ratios.Rows}}
<tr>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</table>
{{- end}}

{{- range .Sweeps}}
<h2>Batch-ratio sweep: {{.Label}}</h2>
<p>{{.Points}} models (batch ratio × seed). Robustness score [%] regressed on clean accuracy [%] (<code>clean</code>)
and neural prediction [FEVe] (<code>neural</code>) by ordinary least squares with intercept;
t-tests of each coefficient (two-sided, classical standard errors). The paper's two-factor regression is
<code>robustness ~ clean + neural</code>; the grey line of Fig. 3C is <code>robustness ~ neural</code>.</p>
{{- range .Fits}}
<h3><code>{{.Formula}}</code></h3>
{{- if .Error}}
<p class="err">Not fitted: {{.Error}}</p>
{{- else}}
<p>{{.Stats}}</p>
<table>
<tr>{{range .Coefs.Header}}<th>{{.}}</th>{{end}}</tr>
{{- range .Coefs.Rows}}
<tr>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</table>
{{- end}}
{{- end}}
<details><summary>Sweep points</summary>
<table>
<tr>{{range .Data.Header}}<th>{{.}}</th>{{end}}</tr>
{{- range .Data.Rows}}
<tr>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</table>
</details>
{{- end}}

{{- if .Notes}}
<h2>Notes</h2>
<ul>
{{- range .Notes}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
</main>
</body>
</html>
`
