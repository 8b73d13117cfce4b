// Passkeys (WebAuthn). Progressive enhancement only: without this file or without WebAuthn the
// passkey controls stay hidden and the password login works as before. The server hands out a
// ceremony's options as JSON; the browser's answer goes back in an ordinary form POST.
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      allowCredentials: descriptors(json.allowCredentials),
    });
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) json.response.userHandle = toBase64url(response.userHandle);
    }
    return json;
  }

  function fetchOptions(form) {
    var token = form.querySelector("input[name='csrfmiddlewaretoken']").value;
    return fetch(form.getAttribute("data-options-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json" },
    }).then(function (response) {
      if (response.status === 403) {
        // The recent login ran out meanwhile: the page now asks for the password.
        window.location.reload();
        throw new Error("re-authentication needed");
      }
      if (!response.ok) throw new Error("options: " + response.status);
      return response.json();
    });
  }

  function showError(form, shown) {
    var error = form.querySelector("[data-passkey-error]");
    if (error) error.hidden = !shown;
    form.dataset.submitted = ""; // portal/js/site.js: let the person try again
  }

  function send(form, credential) {
    form.querySelector("input[name='credential']").value = JSON.stringify(
      credentialJSON(credential)
    );
    form.submit();
  }

  function ignorable(error) {
    // An aborted conditional request (the button was pressed) is not a failure to show.
    return error && error.name === "AbortError";
  }

  var conditional = null;

  function authenticate(form, mediation) {
    if (conditional) conditional.abort();
    var controller = new AbortController();
    if (mediation === "conditional") conditional = controller;
    return fetchOptions(form)
      .then(function (data) {
        var options = { publicKey: requestOptions(data.publicKey), signal: controller.signal };
        if (mediation) options.mediation = mediation;
        return navigator.credentials.get(options);
      })
      .then(function (credential) {
        if (credential) send(form, credential);
      });
  }

  function register(form) {
    return fetchOptions(form)
      .then(function (data) {
        return navigator.credentials.create({ publicKey: creationOptions(data.publicKey) });
      })
      .then(function (credential) {
        if (credential) send(form, credential);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch);
    document.querySelectorAll("[data-passkey-unsupported]").forEach(function (notice) {
      notice.hidden = supported;
    });
    if (!supported) return;

    document.querySelectorAll("[data-passkey-section]").forEach(function (section) {
      section.hidden = false;
    });

    document.querySelectorAll("form[data-passkey-register]").forEach(function (form) {
      form.querySelectorAll("[data-passkey-needs-js]").forEach(function (button) {
        button.disabled = false;
      });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        showError(form, false);
        form.dataset.submitted = "1";
        register(form).catch(function () {
          showError(form, true);
        });
      });
    });

    document.querySelectorAll("form[data-passkey-authenticate]").forEach(function (form) {
      form.hidden = false;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        showError(form, false);
        form.dataset.submitted = "1";
        authenticate(form, null).catch(function (error) {
          if (!ignorable(error)) showError(form, true);
          else form.dataset.submitted = "";
        });
      });
    });

    // Conditional UI: the browser offers passkeys in the ID field's autofill.
    var loginForm = document.querySelector("form[data-passkey-login]");
    // A login form this file does not render (the staff admin's) names its ID field; the
    // "webauthn" token lets the browser offer passkeys in that field's autofill.
    var field = loginForm && document.getElementById(loginForm.getAttribute("data-autofill-field"));
    if (field && !/\bwebauthn\b/.test(field.autocomplete)) {
      field.setAttribute("autocomplete", ((field.getAttribute("autocomplete") || "username") + " webauthn").trim());
    }
    var refused = /(^|[?&])passkey=refused(&|$)/.test(window.location.search.slice(1));
    if (
      loginForm &&
      !refused &&
      document.querySelector("input[autocomplete~='webauthn']") &&
      PublicKeyCredential.isConditionalMediationAvailable
    ) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) return;
        authenticate(loginForm, "conditional").catch(function (error) {
          if (!ignorable(error)) showError(loginForm, true);
        });
      });
    }
  });
})();
