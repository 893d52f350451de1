// The console's own script (no inline scripts: the Content-Security-Policy forbids them).
// Bootstrap Italia loads its fonts from here.
window.__PUBLIC_PATH__ = document.currentScript.dataset.fonts;
document.addEventListener("htmx:configRequest", function (event) {
  // every htmx request carries the form token, like the forms' hidden field
  var token = document.querySelector('meta[name="csrf-token"]');
  if (token) { event.detail.headers["X-CSRF-Token"] = token.content; }
});
