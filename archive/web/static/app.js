// Results as you type: the same server-rendered results, fetched for the query typed so far
// (debounced), and the URL kept in step so that the page can be bookmarked and shared.
(function () {
  const form = document.getElementById("search");
  const input = document.getElementById("q");
  const box = document.getElementById("results");
  if (!form || !input || !box) return;
  let timer = null;
  let seq = 0;
  function update() {
    const params = new URLSearchParams(new FormData(form));
    for (const [k, v] of [...params]) if (!v) params.delete(k);
    const qs = params.toString();
    const mine = ++seq;
    fetch("/?" + qs + (qs ? "&" : "") + "partial=1", { headers: { "Accept": "text/html" } })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => {
        if (mine !== seq) return; // an older answer arriving late
        box.innerHTML = html;
        history.replaceState(null, "", qs ? "/?" + qs : "/");
      })
      .catch(() => {});
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, 250); });
  document.getElementById("sort").addEventListener("change", () => form.submit());
})();

// "/" puts the cursor in the search box (as on most sites with one); facets start open on wide
// screens and closed on phones, where they come after the results; an article's "back to results"
// goes back to the search it came from.
(function () {
  const input = document.getElementById("q");
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (e.key === "/" && !typing && input && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      input.focus();
      input.select();
    }
  });
  function fitFacets() {
    const f = document.getElementById("facets");
    if (f) f.open = !window.matchMedia("(max-width: 720px)").matches;
  }
  fitFacets();
  const box = document.getElementById("results");
  if (box) new MutationObserver(fitFacets).observe(box, { childList: true });
  const back = document.getElementById("back");
  if (back && document.referrer) {
    try {
      const from = new URL(document.referrer);
      if (from.origin === location.origin && from.pathname === "/") back.href = from.pathname + from.search;
    } catch (e) { /* not a URL: keep "/" */ }
  }
})();
