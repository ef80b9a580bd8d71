/* poxscan pages: drag-and-drop upload and an in-page chat. Progressive enhancement only: every
   form also works without this script (plain POSTs answered by server-rendered pages). */
(function () {
  "use strict";

  function setupUpload() {
    var form = document.getElementById("upload-form");
    if (!form) { return; }
    var input = document.getElementById("file");
    var zone = document.getElementById("dropzone");
    var label = document.getElementById("dz-file");
    var preview = document.getElementById("preview");
    var button = document.getElementById("submit");
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
    var previewUrl = null;

    function show(file) {
      label.textContent = file ? file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)" : "";
      if (previewUrl) { URL.revokeObjectURL(previewUrl); previewUrl = null; }
      if (preview && file && /^image\/(jpeg|png|webp|bmp)$/.test(file.type)) {
        previewUrl = URL.createObjectURL(file);
        preview.src = previewUrl;
        preview.hidden = false;
      } else if (preview) {
        preview.hidden = true;
      }
    }

    input.addEventListener("change", function () { show(input.files[0]); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "dragend", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      var files = event.dataTransfer && event.dataTransfer.files;
      if (files && files.length) {
        input.files = files;  // the normal form submission then sends the dropped file
        show(files[0]);
      }
    });
    form.addEventListener("submit", function (event) {
      var file = input.files[0];
      if (file && maxBytes && file.size > maxBytes) {
        event.preventDefault();
        label.textContent = file.name + " is larger than the limit of " +
          Math.round(maxBytes / 1048576) + " MB; please choose a smaller photo.";
        return;
      }
      button.disabled = true;
      button.textContent = "Analysing…";
    });
    // Coming back with the browser's back button must not leave the button disabled.
    window.addEventListener("pageshow", function () {
      button.disabled = false;
      button.textContent = "Screen this photo";
    });
  }

  function setupChat() {
    var form = document.getElementById("chat-form");
    if (!form || !window.fetch) { return; }
    var input = document.getElementById("chat-message");
    var log = document.getElementById("chat-log");
    var send = document.getElementById("chat-send");

    function add(classes, text) {
      var div = document.createElement("div");
      div.className = "chat-msg " + classes;
      var p = document.createElement("p");
      p.className = "chat-text";
      p.textContent = text;  // text only: replies are never parsed as HTML
      div.appendChild(p);
      log.appendChild(div);
      return div;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var message = input.value.trim();
      if (!message) { return; }
      add("chat-user", message);
      input.value = "";
      send.disabled = true;
      var pending = add("chat-bot chat-pending", "…");
      fetch(form.getAttribute("data-api") || "/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ message: message })
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (result) {
        var kind = result.ok ? result.data.kind : "error";
        pending.className = "chat-msg chat-bot chat-" + kind;
        pending.setAttribute("data-kind", kind);
        pending.firstChild.textContent = result.ok ? result.data.text : result.data.message;
      }).catch(function () {
        pending.className = "chat-msg chat-bot chat-error";
        pending.setAttribute("data-kind", "error");
        pending.firstChild.textContent = "The chatbot could not be reached. Please try again.";
      }).then(function () {
        send.disabled = false;
        pending.scrollIntoView({ block: "nearest" });
      });
    });
  }

  setupUpload();
  setupChat();
}());
