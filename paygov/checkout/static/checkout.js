/* PayGov checkout: progressive enhancement only. Without this file every page still works:
 * all banks are listed, the details can be copied by hand, and <noscript> refreshes poll. */
(function () {
  "use strict";

  // Lower case, no diacritics: "Đông Á" and "dong a" find the same bank (server folds alike).
  function fold(text) {
    return text
      .replace(/đ/g, "d")
      .replace(/Đ/g, "D")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .trim();
  }

  function setUpSearch() {
    var box = document.querySelector("[data-search]");
    if (!box) return;
    var input = box.querySelector("input");
    var empty = document.querySelector("[data-search-empty]");
    var groups = Array.prototype.slice.call(document.querySelectorAll("[data-search-group]"));
    box.hidden = false;
    input.addEventListener("input", function () {
      var query = fold(input.value);
      var shown = 0;
      groups.forEach(function (group) {
        var visible = 0;
        group.querySelectorAll("[data-search-text]").forEach(function (bank) {
          var match = !query || bank.getAttribute("data-search-text").indexOf(query) !== -1;
          bank.hidden = !match;
          if (match) visible += 1;
        });
        group.hidden = visible === 0;
        shown += visible;
      });
      if (empty) empty.hidden = shown !== 0;
    });
  }

  function setUpCopy() {
    if (!navigator.clipboard || !window.isSecureContext) return;
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var label = button.firstChild ? button.firstChild.textContent : "";
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
          button.firstChild.textContent = button.getAttribute("data-copied");
          button.classList.add("copy--done");
          window.setTimeout(function () {
            button.firstChild.textContent = label;
            button.classList.remove("copy--done");
          }, 2000);
        });
      });
    });
  }

  // Ask the server every few seconds; move on when the payment changes (a new version):
  // from the QR page to the result, or reload a pending result to show the outcome.
  function setUpPolling() {
    var body = document.body;
    var statusUrl = body.getAttribute("data-status-url");
    var resultUrl = body.getAttribute("data-result-url");
    var version = body.getAttribute("data-version");
    if (!statusUrl || !resultUrl) return;
    var delay = 3000;
    var started = Date.now();

    function check() {
      fetch(statusUrl, { cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          var open = state && (state.status === "created" || state.status === "pending");
          if (state && (String(state.version) !== version || !open)) {
            window.location.assign(resultUrl);
            return;
          }
          schedule();
        })
        .catch(schedule);
    }

    function schedule() {
      // Every 3 s for five minutes, then every 10 s: a phone left open stays light.
      if (Date.now() - started > 300000) delay = 10000;
      window.setTimeout(check, delay);
    }

    schedule();
  }

  setUpSearch();
  setUpCopy();
  setUpPolling();
})();
