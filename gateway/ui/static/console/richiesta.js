// The new-request form: the identifier fields the chosen subject asks for, codice fiscale and
// CAP checked as typed, the attachments' total as it fills. The server checks all again.
(function () {
  "use strict";
  var form = document.getElementById("modulo-richiesta");
  if (!form) { return; }
  var MB = 1024 * 1024;

  function say(name, text, ok) {
    var box = document.getElementById("verifica-" + name);
    if (!box) { return; }
    box.textContent = text;
    box.classList.toggle("text-success", ok === true);
    box.classList.toggle("text-danger", ok === false);
  }

  // ---- the subject's identifier -------------------------------------------------------
  var subject = document.getElementById("subject");
  var block = document.getElementById("identificativo");
  var kind = document.getElementById("identifier_kind");
  var note = document.getElementById("identificativo-nota");
  var cric = document.getElementById("sezione-cric");
  var citizen = document.getElementById("cittadino");

  function showSubject() {
    var option = subject.options[subject.selectedIndex];
    var kinds = option && option.dataset.kinds ? option.dataset.kinds.split(" ") : [];
    block.hidden = kinds.length === 0;
    if (kinds.length) {
      var first = null;
      Array.prototype.forEach.call(kind.options, function (choice) {
        var allowed = kinds.indexOf(choice.value) >= 0;
        choice.hidden = !allowed;
        choice.disabled = !allowed;
        if (allowed && first === null) { first = choice; }
      });
      if (kind.selectedOptions.length === 0 || kind.selectedOptions[0].disabled) { first.selected = true; }
      note.textContent = option.dataset.required === "1" ? "(obbligatorio per questo oggetto)" : "(facoltativo)";
      document.getElementById("identifier_value").required = option.dataset.required === "1";
    } else {
      document.getElementById("identifier_value").value = "";
    }
    var isCric = option && option.dataset.cric === "1";
    if (cric) { cric.hidden = !isCric; }
    if (citizen && cric) { citizen.hidden = isCric && document.getElementById("cric_section").value !== ""; }
  }
  if (subject && block) {
    subject.addEventListener("change", showSubject);
    if (cric) { document.getElementById("cric_section").addEventListener("change", showSubject); }
    showSubject();
  }

  // ---- codice fiscale: shape and check character ------------------------------------
  // the official table: a digit weighs as the letter of its rank (0 as A, 1 as B ...)
  var ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
  var SHAPE = /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/;

  function value36(ch) {
    if (ch >= "0" && ch <= "9") { return ch.charCodeAt(0) - 48; }
    return ch.charCodeAt(0) - 65;
  }
  function checkCharacter(cf) {
    var sum = 0;
    for (var i = 0; i < 15; i++) {
      var v = value36(cf[i]);
      sum += i % 2 === 0 ? ODD[v] : v;
    }
    return String.fromCharCode(65 + (sum % 26));
  }
  function checkCodiceFiscale(input) {
    var cf = input.value.trim().toUpperCase();
    if (input.value !== cf && document.activeElement !== input) { input.value = cf; }
    if (!cf) { say("codice_fiscale", "", null); input.setCustomValidity(""); return; }
    var message = "";
    if (cf.length < 16) { message = "Il codice fiscale è di 16 caratteri (" + cf.length + " finora)."; }
    else if (!SHAPE.test(cf)) { message = "Formato del codice fiscale non valido."; }
    else if (checkCharacter(cf) !== cf[15]) { message = "Carattere di controllo errato: verificare il codice fiscale."; }
    input.setCustomValidity(message);
    say("codice_fiscale", message || "Codice fiscale formalmente corretto.", message === "");
  }

  function checkCap(input) {
    var cap = input.value.trim();
    if (!cap) { say("cap", "", null); input.setCustomValidity(""); return; }
    var message = /^[0-9]{5}$/.test(cap) ? "" : "Il CAP deve essere composto da 5 cifre.";
    input.setCustomValidity(message);
    say("cap", message || "Verifica del CAP…", message ? false : null);
    if (message) { return; }
    // five digits: the console says whether a comune has this CAP
    fetch("/ui/richieste/verifica-cap?cap=" + encodeURIComponent(cap), { headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (found) {
        if (!found || input.value.trim() !== cap) { return; }
        input.setCustomValidity(found.valid ? "" : found.detail);
        say("cap", found.detail, found.valid);
      })
      .catch(function () { say("cap", "CAP nel formato corretto.", true); });
  }

  var cfInput = document.getElementById("codice_fiscale");
  if (cfInput) {
    cfInput.addEventListener("input", function () { checkCodiceFiscale(cfInput); });
    cfInput.addEventListener("blur", function () { checkCodiceFiscale(cfInput); });
  }
  var capInput = document.getElementById("cap");
  if (capInput) { capInput.addEventListener("input", function () { checkCap(capInput); }); }

  // ---- attachments: the total as it fills ---------------------------------------------
  var files = document.getElementById("allegati");
  var total = document.getElementById("allegati-totale");
  var bar = document.getElementById("allegati-barra");
  var maxTotal = parseInt(form.dataset.maxTotal, 10) || 6 * MB;
  var maxFiles = parseInt(form.dataset.maxFiles, 10) || 0;

  function megabytes(bytes) { return (bytes / MB).toFixed(1).replace(".", ",") + " MB"; }

  function showFiles() {
    var count = files.files.length;
    var size = 0;
    var tooBig = [];
    Array.prototype.forEach.call(files.files, function (file) {
      size += file.size;
      if (file.size > 6 * MB) { tooBig.push(file.name); }
    });
    var message = "";
    if (maxFiles && count > maxFiles) { message = "Si possono allegare al massimo " + maxFiles + " file."; }
    else if (!maxFiles && size > maxTotal) { message = "Gli allegati superano il limite di 6 MB complessivi."; }
    else if (tooBig.length) { message = "Supera 6 MB: " + tooBig.join(", ") + "."; }
    files.setCustomValidity(message);
    var limit = maxFiles ? count + " di " + maxFiles + " file, " + megabytes(size) : megabytes(size) + " di 6 MB";
    total.textContent = count ? limit + (message ? " — " + message : "") : "Nessun file scelto.";
    total.classList.toggle("text-danger", message !== "");
    var share = maxFiles ? count / maxFiles : size / maxTotal;
    bar.style.width = Math.min(100, Math.round(share * 100)) + "%";
    bar.classList.toggle("bg-danger", message !== "");
  }
  if (files && total && bar) { files.addEventListener("change", showFiles); showFiles(); }

  form.addEventListener("submit", function (event) {
    // a value checked here is wrong: say so rather than send the files for nothing (a missing
    // value is left to the server, which names every field at fault at once)
    var wrong = Array.prototype.filter.call(form.elements, function (el) {
      return el.validity && el.validity.customError;
    });
    if (wrong.length) { event.preventDefault(); wrong[0].focus(); }
  });
})();
