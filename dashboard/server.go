package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"
)

// Handler serves the dashboard of src, read-only:
//
//	/                       the experiments (a single one redirects to its page)
//	/e/ID/                  an experiment: jobs, results table, figures
//	/e/ID/jobs/N            a job and its training curves
//	/e/ID/figures/NAME.png  a figure of the report
//
// Only GET and HEAD are served; every other method gets 405, every other
// path 404. Pages of unfinished experiments reload themselves every
// refresh (0: 5 s).
func Handler(src Source, refresh time.Duration, logw io.Writer) http.Handler {
	if refresh <= 0 {
		refresh = 5 * time.Second
	}
	if logw == nil {
		logw = io.Discard
	}
	s := &server{src: src, refresh: int(refresh.Seconds() + 0.5), log: log.New(logw, "serve: ", log.LstdFlags)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /e/{id}/{$}", s.experiment)
	mux.HandleFunc("GET /e/{id}/jobs/{n}", s.job)
	mux.HandleFunc("GET /e/{id}/figures/{name}", s.figure)
	return readOnly(mux)
}

// readOnly refuses every method but GET and HEAD, whatever the path.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only: only GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")
		h.ServeHTTP(w, r)
	})
}

type server struct {
	src     Source
	refresh int
	log     *log.Logger
}

// fail answers an error: 404 for what the source lacks, 500 otherwise.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	s.log.Printf("%s: %v", r.URL.Path, err)
	http.Error(w, "the dashboard could not read the experiment: "+err.Error(), http.StatusInternalServerError)
}

func (s *server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	es, err := s.src.Experiments(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(es) == 1 {
		http.Redirect(w, r, fmt.Sprintf("/e/%d/", es[0].ID), http.StatusFound)
		return
	}
	s.render(w, r, "index", struct {
		Title       string
		Experiments []Summary
		Refresh     int
	}{"cotrain experiments", es, s.refresh})
}

// experimentID parses the {id} of a path.
func experimentID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("experiment %q: %w", r.PathValue("id"), ErrNotFound)
	}
	return id, nil
}

func (s *server) view(r *http.Request) (*View, error) {
	id, err := experimentID(r)
	if err != nil {
		return nil, err
	}
	return s.src.Experiment(r.Context(), id)
}

func (s *server) experiment(w http.ResponseWriter, r *http.Request) {
	v, err := s.view(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	refresh := s.refresh
	if v.Done == v.Total {
		refresh = 0
	}
	s.render(w, r, "experiment", struct {
		*View
		Title   string
		Refresh int
		Now     string
	}{v, "cotrain: " + v.Name, refresh, time.Now().Format(time.DateTime)})
}

func (s *server) job(w http.ResponseWriter, r *http.Request) {
	v, err := s.view(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > len(v.Jobs) {
		s.fail(w, r, fmt.Errorf("job %q of experiment %d: %w", r.PathValue("n"), v.ID, ErrNotFound))
		return
	}
	es, err := s.src.Epochs(r.Context(), v.ID, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	job := v.Jobs[n-1]
	refresh := s.refresh
	if job.State == "done" || job.State == "failed" {
		refresh = 0
	}
	s.render(w, r, "job", struct {
		Title      string
		Experiment *View
		Job        Job
		Epochs     []Epoch
		Charts     []chart
		Refresh    int
	}{fmt.Sprintf("cotrain: %s: %s", v.Name, job.Name), v, job, es, charts(es), refresh})
}

func (s *server) figure(w http.ResponseWriter, r *http.Request) {
	v, err := s.view(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := r.PathValue("name")
	if !slices.Contains(v.Figures, name) {
		s.fail(w, r, fmt.Errorf("figure %q: %w", name, ErrNotFound))
		return
	}
	path, err := FigurePath(v.Root, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// Serve serves the dashboard on l until ctx ends.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	}
}
