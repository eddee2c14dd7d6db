/* The case file, progressively: the sections switch in place (without JavaScript each tab is its own page,
   ?tab=...), and a call-outcome form shows only the fields of the chosen outcome (the server still checks
   everything and takes only what belongs to the outcome). No inline scripts: the pages run under a CSP. */
(function () {
  "use strict";
  if (window.mahnwerkCaseFile) { return; }  // loaded again after an HTMX page swap
  window.mahnwerkCaseFile = true;

  function showTab(nav, key) {
    var root = nav.parentNode;
    var panels = root.querySelectorAll("[data-panel]");
    for (var i = 0; i < panels.length; i++) {
      panels[i].hidden = panels[i].getAttribute("data-panel") !== key;
    }
    var links = nav.querySelectorAll("a[data-tab]");
    for (var j = 0; j < links.length; j++) {
      if (links[j].getAttribute("data-tab") === key) {
        links[j].setAttribute("aria-current", "page");
      } else {
        links[j].removeAttribute("aria-current");
      }
    }
    var url = new URL(window.location.href);
    if (key === "overview") { url.searchParams.delete("tab"); } else { url.searchParams.set("tab", key); }
    window.history.replaceState(window.history.state, "", url.toString());
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-tab]");  // the tabs, or a link to one
    var nav = document.querySelector("nav.tabs");
    if (!link || !nav || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    event.preventDefault();
    showTab(nav, link.getAttribute("data-tab"));
    if (!link.closest("nav.tabs")) { nav.scrollIntoView({block: "start"}); }
  });

  function outcomeFields(form) {
    var select = form.querySelector("select[name$='-outcome']");
    if (!select) { return; }
    var wrappers = form.querySelectorAll("[data-outcomes]");
    for (var i = 0; i < wrappers.length; i++) {
      var show = wrappers[i].getAttribute("data-outcomes").split(" ").indexOf(select.value) >= 0;
      wrappers[i].hidden = !show;
      var controls = wrappers[i].querySelectorAll("input, select, textarea");
      for (var k = 0; k < controls.length; k++) { controls[k].disabled = !show; }  // not sent when hidden
    }
  }

  function setUp(root) {
    var forms = (root || document).querySelectorAll("form[data-call-form]");
    for (var i = 0; i < forms.length; i++) { outcomeFields(forms[i]); }
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-call-form]");
    if (form && /-outcome$/.test(event.target.name || "")) { outcomeFields(form); }
  });
  document.addEventListener("htmx:load", function (event) { setUp(event.detail && event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  } else {
    setUp(document);
  }
})();
