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

    // A labelled list of links ("Did you also mean:", "Sources:"), built as DOM nodes.
    function linkList(div, className, label, links) {
      if (!links || !links.length) { return; }
      var box = document.createElement("div");
      box.className = className;
      var span = document.createElement("span");
      span.textContent = label;
      box.appendChild(span);
      var ul = document.createElement("ul");
      links.forEach(function (link) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.textContent = link.text;
        a.href = link.href;
        if (link.className) { a.className = link.className; }
        if (link.entry) { a.setAttribute("data-entry", link.entry); }
        if (link.external) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
        li.appendChild(a);
        ul.appendChild(li);
      });
      box.appendChild(ul);
      div.appendChild(box);
    }

    function show(pending, data) {
      pending.firstChild.textContent = data.body || data.text;
      pending.setAttribute("data-confidence", data.confidence || "");
      pending.setAttribute("data-entry", data.entry_id || "");
      var page = form.getAttribute("data-page") || "/chat";
      linkList(pending, "chat-also", "Did you also mean:", (data.also || []).map(function (a) {
        return { text: a.question, entry: a.entry_id, className: "chat-also-link",
                 href: page + "?message=" + encodeURIComponent(a.question) + "#chat" };
      }));
      linkList(pending, "chat-sources", "Sources:", (data.sources || []).map(function (s) {
        return { text: s.title, href: s.url, external: true };
      }));
      if (data.as_of) {
        var asof = document.createElement("p");
        asof.className = "chat-asof muted";
        asof.textContent = "Information as of " + data.as_of + ". Not medical advice.";
        pending.appendChild(asof);
      }
    }

    function ask(message) {
      add("chat-user", message);
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
        if (result.ok) { show(pending, result.data); }
        else { pending.firstChild.textContent = result.data.message; }
      }).catch(function () {
        pending.className = "chat-msg chat-bot chat-error";
        pending.setAttribute("data-kind", "error");
        pending.firstChild.textContent = "The chatbot could not be reached. Please try again.";
      }).then(function () {
        send.disabled = false;
        pending.scrollIntoView({ block: "nearest" });
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var message = input.value.trim();
      if (!message) { return; }
      input.value = "";
      ask(message);
    });

    // "Did you also mean" links ask their question in page (without JavaScript they load
    // /chat?message=..., which the server answers).
    log.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a.chat-also-link") : null;
      if (!link) { return; }
      event.preventDefault();
      ask(link.textContent);
    });
  }

  setupUpload();
  setupChat();
}());
