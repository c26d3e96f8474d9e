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
