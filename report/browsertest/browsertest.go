// Package browsertest opens an HTML report in Debian's headless Chromium
// (through chromedp) and checks what a reader's browser would do with it:
// no console error, no request besides the report document itself, no
// Content-Security-Policy violation, every chart painted, every finding laid
// out (but those the node picker hides), and no script of the bundle's
// making run (window.__pwn stays unset).
//
// Tests of the report package and the lead's test over all samples use Check.
// The browser is never downloaded: when /usr/bin/chromium is missing the test
// fails and names report/scripts/ensure-chromium.sh, which installs it.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/memsnap/memsnap/internal/testcorpus"
)

// ChromiumPath is Debian's Chromium, installed by scripts/ensure-chromium.sh.
const ChromiumPath = "/usr/bin/chromium"

// Result is what the browser saw while loading one report.
type Result struct {
	URL           string
	ConsoleErrors []string // console.error/assert calls and error-level log entries
	Exceptions    []string // uncaught exceptions
	Requests      []string // every URL in the CDP network log, the document included
	CSPViolations []string // securitypolicyviolation events seen by the page
	Charts        []Chart
	Findings      []Box
	Pwned         bool     // window.__pwn was set: a payload ran
	Text          string   // document.body.innerText
	Screenshot    string   // path of the full-page PNG
	Evals         []string // what each Step's Eval returned, in order
}

// Step is what a test does in the page once it is ready, before it is
// inspected: a real mouse click on the first element matching Click (a
// CSS selector; the browser scrolls it into view), then a wait until an
// element matching WaitFor is visible, then Eval (a JavaScript expression
// giving a string, kept in Result.Evals). Each part is optional.
type Step struct {
	Click, WaitFor, Eval string
}

// stepTimeout bounds one step: a WaitFor that never matches fails the
// check instead of hanging it.
const stepTimeout = 30 * time.Second

// Chart is one chart element of the report.
type Chart struct {
	ID       string `json:"id"`
	Canvases int    `json:"canvases"`
	Painted  bool   `json:"painted"` // some canvas pixel is not background
}

// Box is the laid-out size of one element.
type Box struct {
	ID     string  `json:"id"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// recordViolations runs before any page script (CDP injects it on every new
// document, outside the page's CSP) and keeps every CSP violation report.
const recordViolations = `(function () {
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", function (e) {
    window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
  });
})();`

// waitReady resolves when the report has set its ready marker (init.js sets
// data-memsnap-ready on <html> once rendered, a node of the address
// included), or after 30 s so that a page without it is still inspected.
const waitReady = `new Promise(function (resolve) {
  var t0 = Date.now();
  (function poll() {
    if (document.documentElement.hasAttribute("data-memsnap-ready") || Date.now() - t0 > 30000) { resolve(true); return; }
    setTimeout(poll, 10);
  })();
})`

// inspect waits for the ready marker and two animation frames (ECharts
// paints on the next frame) and collects what Check asserts.
const inspect = `new Promise(function (resolve) {
  (` + waitReady + `).then(function () {
  requestAnimationFrame(function () { requestAnimationFrame(function () {
    var charts = Array.prototype.map.call(document.querySelectorAll(".chart"), function (el) {
      var canvases = el.querySelectorAll("canvas"), painted = false;
      Array.prototype.forEach.call(canvases, function (c) {
        if (painted || !c.width || !c.height) { return; }
        var d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (var i = 3; i < d.length; i += 4) {
          // transparent is background; so is pure white
          if (d[i] !== 0 && !(d[i-3] === 255 && d[i-2] === 255 && d[i-1] === 255)) { painted = true; break; }
        }
      });
      return { id: el.id, canvases: canvases.length, painted: painted };
    });
    var findings = Array.prototype.map.call(document.querySelectorAll(".finding:not(.hidden-by-picker)"), function (el) {
      var r = el.getBoundingClientRect();
      return { id: el.id, width: r.width, height: r.height };
    });
    resolve(JSON.stringify({
      charts: charts, findings: findings, pwned: window.__pwn !== undefined,
      csp: window.__cspViolations || ["violation recorder did not run"],
      text: document.body ? document.body.innerText : ""
    }));
  }); });
  });
})`

// Run loads the report at htmlPath in a fresh headless Chromium and returns
// what it saw. The screenshot goes to artifactsDir (created if needed).
func Run(ctx context.Context, htmlPath, artifactsDir string) (Result, error) {
	return RunAt(ctx, htmlPath, "", artifactsDir)
}

// RunAt is Run with the address's fragment set to fragment (a cluster
// report picks the node of "#bundle-N" on load); the screenshot's name ends
// in "-fragment".
func RunAt(ctx context.Context, htmlPath, fragment, artifactsDir string) (Result, error) {
	return RunSteps(ctx, htmlPath, fragment, artifactsDir)
}

// RunSteps is RunAt with steps taken once the page is ready.
func RunSteps(ctx context.Context, htmlPath, fragment, artifactsDir string, steps ...Step) (Result, error) {
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		return Result{}, err
	}
	res := Result{URL: "file://" + filepath.ToSlash(abs)}
	userData, err := os.MkdirTemp("", "memsnap-chromium-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(userData)
	allocCtx, cancelAlloc := newBrowser(ctx, userData)
	defer cancelAlloc()
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	target := res.URL
	if fragment != "" {
		target += "#" + fragment
	}

	var mu sync.Mutex
	if err := chromedp.Listen(tabCtx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if ev.Request != nil {
				res.Requests = append(res.Requests, ev.Request.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				res.ConsoleErrors = append(res.ConsoleErrors, consoleText(ev.Args))
			}
		case *runtime.EventExceptionThrown:
			if d := ev.ExceptionDetails; d != nil {
				msg := d.Text
				if d.Exception != nil {
					msg += " " + d.Exception.Description
				}
				res.Exceptions = append(res.Exceptions, msg)
			}
		case *log.EventEntryAdded:
			if ev.Entry != nil && ev.Entry.Level == log.EntryLevelError {
				res.ConsoleErrors = append(res.ConsoleErrors, string(ev.Entry.Source)+": "+ev.Entry.Text)
			}
		}
	}); err != nil {
		return res, fmt.Errorf("start %s: %w", ChromiumPath, err)
	}

	if _, err := chromedp.Call(tabCtx, network.Enable, network.EnableParams{}); err != nil {
		return res, err
	}
	if _, err := chromedp.Call(tabCtx, log.Enable, cdp.Empty{}); err != nil {
		return res, err
	}
	if _, err := chromedp.Call(tabCtx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: recordViolations}); err != nil {
		return res, err
	}
	if err := chromedp.Do(tabCtx, chromedp.Navigate(target)); err != nil {
		return res, fmt.Errorf("load %s: %w", res.URL, err)
	}
	if len(steps) > 0 {
		if _, err := chromedp.Run(tabCtx, chromedp.Evaluate[bool](waitReady, chromedp.EvalAwaitPromise)); err != nil {
			return res, fmt.Errorf("wait for %s: %w", res.URL, err)
		}
	}
	var evals []string
	for i, st := range steps {
		if err := runStep(tabCtx, st, &evals); err != nil {
			return res, fmt.Errorf("%s: step %d %+v: %w", res.URL, i+1, st, err)
		}
	}
	raw, err := chromedp.Run(tabCtx, chromedp.Evaluate[string](inspect, chromedp.EvalAwaitPromise))
	if err != nil {
		return res, fmt.Errorf("inspect %s: %w", res.URL, err)
	}
	var seen struct {
		Charts   []Chart  `json:"charts"`
		Findings []Box    `json:"findings"`
		Pwned    bool     `json:"pwned"`
		CSP      []string `json:"csp"`
		Text     string   `json:"text"`
	}
	if err := json.Unmarshal([]byte(raw), &seen); err != nil {
		return res, err
	}
	png, err := chromedp.Run(tabCtx, chromedp.FullScreenshot(100))
	if err != nil {
		return res, fmt.Errorf("screenshot: %w", err)
	}
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		return res, err
	}
	name := strings.TrimSuffix(filepath.Base(abs), filepath.Ext(abs))
	if fragment != "" {
		name += "-" + fragment
	}
	shot := filepath.Join(artifactsDir, name+".png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		return res, err
	}

	mu.Lock()
	defer mu.Unlock()
	res.Charts, res.Findings, res.Pwned, res.CSPViolations, res.Text = seen.Charts, seen.Findings, seen.Pwned, seen.CSP, seen.Text
	res.Screenshot = shot
	res.Evals = evals
	out := res
	out.Requests = append([]string(nil), res.Requests...)
	return out, nil
}

func runStep(ctx context.Context, st Step, evals *[]string) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if st.Click != "" {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(st.Click))); err != nil {
			return fmt.Errorf("click: %w", err)
		}
	}
	if st.WaitFor != "" {
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(st.WaitFor))); err != nil {
			return fmt.Errorf("wait for %s: %w", st.WaitFor, err)
		}
	}
	if st.Eval != "" {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](st.Eval, chromedp.EvalAwaitPromise))
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		*evals = append(*evals, v)
	}
	return nil
}

// newBrowser starts Debian's headless Chromium with no network features of
// its own, profile in userData.
func newBrowser(ctx context.Context, userData string) (context.Context, context.CancelFunc) {
	return chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(userData),
		chromedp.WindowSize(1366, 900), // a laptop screen
	)
}

// ready says whether the page has set its ready marker.
func ready(ctx context.Context) bool {
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.hasAttribute("data-memsnap-ready")`))
	return err == nil && ok
}

func consoleText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		if a == nil {
			continue
		}
		if len(a.Value) > 0 {
			parts = append(parts, string(a.Value))
		} else {
			parts = append(parts, a.Description)
		}
	}
	return strings.Join(parts, " ")
}

// ArtifactsDir is where screenshots go: $MEMSNAP_ARTIFACTS, else
// test-artifacts/ at the repository root (git-ignored).
func ArtifactsDir(t testing.TB) string {
	if dir := os.Getenv("MEMSNAP_ARTIFACTS"); dir != "" {
		return dir
	}
	return filepath.Join(testcorpus.RepoRoot(t), "test-artifacts")
}

// Check loads the report in Chromium and fails t for every problem: a
// console error or exception, any request besides the document, a CSP
// violation, a chart without painted pixels, a finding without a box, or a
// payload that ran. It returns the Result for further assertions (e.g. that
// payload text is shown literally).
func Check(t testing.TB, htmlPath string) Result {
	t.Helper()
	return CheckAt(t, htmlPath, "")
}

// CheckAt is Check with the address's fragment set to fragment.
func CheckAt(t testing.TB, htmlPath, fragment string) Result {
	t.Helper()
	return CheckSteps(t, htmlPath, fragment)
}

// CheckSteps is CheckAt with steps taken in the page before it is
// inspected (a step that fails fails t).
func CheckSteps(t testing.TB, htmlPath, fragment string, steps ...Step) Result {
	t.Helper()
	if _, err := exec.LookPath(ChromiumPath); err != nil {
		t.Fatalf("%s is missing: run report/scripts/ensure-chromium.sh (apt-get install chromium) to run the browser tests", ChromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := RunSteps(ctx, htmlPath, fragment, ArtifactsDir(t), steps...)
	if err != nil {
		t.Fatalf("browser check of %s: %v", htmlPath, err)
	}
	name := filepath.Base(htmlPath)
	for _, e := range res.ConsoleErrors {
		t.Errorf("%s: console error: %s", name, e)
	}
	for _, e := range res.Exceptions {
		t.Errorf("%s: uncaught exception: %s", name, e)
	}
	for _, u := range res.Requests {
		if u != res.URL {
			t.Errorf("%s: the page requested %.200q (only the document itself may be loaded)", name, u)
		}
	}
	if len(res.Requests) == 0 {
		t.Errorf("%s: the CDP network log is empty: the document request itself was not seen", name)
	}
	for _, v := range res.CSPViolations {
		t.Errorf("%s: CSP violation: %s", name, v)
	}
	for _, c := range res.Charts {
		if c.Canvases == 0 || !c.Painted {
			t.Errorf("%s: chart %s has %d canvas(es) and painted=%v", name, c.ID, c.Canvases, c.Painted)
		}
	}
	for _, f := range res.Findings {
		if f.Width <= 0 || f.Height <= 0 {
			t.Errorf("%s: finding %s has an empty box %.0fx%.0f", name, f.ID, f.Width, f.Height)
		}
	}
	if res.Pwned {
		t.Errorf("%s: window.__pwn is set: content from the bundle ran as script", name)
	}
	t.Logf("%s: %d charts, %d findings, %d requests; screenshot %s", name, len(res.Charts), len(res.Findings), len(res.Requests), res.Screenshot)
	return res
}

// BenchOpen measures opening htmlPath in one headless Chromium: each of
// b.N iterations navigates afresh and stops the clock when the page has set
// its ready marker (data-memsnap-ready). It reports ms/open besides ns/op.
func BenchOpen(b *testing.B, htmlPath string) {
	b.Helper()
	if _, err := exec.LookPath(ChromiumPath); err != nil {
		b.Fatalf("%s is missing: run report/scripts/ensure-chromium.sh", ChromiumPath)
	}
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		b.Fatal(err)
	}
	userData := b.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := newBrowser(ctx, userData)
	defer cancelAlloc()
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	// Start the browser outside the clock.
	if err := chromedp.Do(tabCtx, chromedp.Navigate("about:blank")); err != nil {
		b.Fatal(err)
	}
	url := "file://" + filepath.ToSlash(abs)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := chromedp.Do(tabCtx, chromedp.Navigate("about:blank")); err != nil {
			b.Fatal(err)
		}
		if err := chromedp.Do(tabCtx, chromedp.Navigate(url)); err != nil {
			b.Fatal(err)
		}
		ok, err := chromedp.Run(tabCtx, chromedp.Evaluate[bool](waitReady, chromedp.EvalAwaitPromise))
		if err != nil || !ok {
			b.Fatalf("%s: no ready marker: %v", htmlPath, err)
		}
		if !ready(tabCtx) {
			b.Fatalf("%s: no ready marker within 30 s", htmlPath)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/open")
}
