/* The tabs' one script (no inline script anywhere: the pages' policy allows scripts from this
 * app only). It signs the person in, as Teams does (getAuthToken) or, in a local run, with a
 * token from the local sign-in page, follows Teams' theme, and fetches what the person may see
 * as HTML the server has already escaped. It shows; it never acts on a case. */
(function () {
  "use strict";

  var body = document.body;
  var page = body.dataset.page;
  var localMode = body.dataset.auth === "local";
  var LOCAL_KEY = "sab-local-token";
  var teams = null;
  var token = null;

  function setTheme(theme) {
    var root = document.documentElement;
    if (theme === "dark" || theme === "contrast") {
      root.dataset.theme = theme;
    } else if (theme === "default") {
      root.dataset.theme = "light";
    } else {
      delete root.dataset.theme; // the browser's own preference (prefers-color-scheme)
    }
  }

  function withTimeout(promise, ms) {
    return Promise.race([
      promise,
      new Promise(function (_, reject) {
        setTimeout(function () { reject(new Error("timed out")); }, ms);
      }),
    ]);
  }

  function loadTeamsLibrary() {
    // Only when a host frames the page: in a plain browser tab there is no Teams to talk to.
    return new Promise(function (resolve) {
      var script = document.createElement("script");
      script.src = "/tabs/static/vendor/MicrosoftTeams.min.js";
      script.onload = function () { resolve(Boolean(window.microsoftTeams)); };
      script.onerror = function () { resolve(false); };
      document.head.append(script);
    });
  }

  async function startTeams() {
    if (window.parent === window || !(await loadTeamsLibrary())) {
      return false; // a plain browser tab: not hosted by Teams
    }
    try {
      await withTimeout(window.microsoftTeams.app.initialize(), 6000);
      teams = window.microsoftTeams;
      var context = await teams.app.getContext();
      setTheme(context && context.app ? context.app.theme : "");
      teams.app.registerOnThemeChangeHandler(setTheme);
      return true;
    } catch (error) {
      teams = null;
      return false;
    }
  }

  async function getToken(fresh) {
    if (token && !fresh) {
      return token;
    }
    if (teams) {
      token = await teams.authentication.getAuthToken();
      return token;
    }
    if (localMode) {
      token = window.sessionStorage.getItem(LOCAL_KEY);
      return token;
    }
    return null;
  }

  function signInNeeded(target) {
    var box = document.createElement("div");
    box.className = "problem";
    box.setAttribute("role", "alert");
    var text = document.createElement("p");
    if (localMode) {
      text.textContent = "Choose a sample person to sign in as (a local run: no Teams here).";
      var link = document.createElement("a");
      link.href = "/tabs/local/sign-in?next=" + encodeURIComponent(location.pathname + location.search);
      link.textContent = "Sign in as a sample person";
      box.append(text, link);
    } else {
      text.textContent = "Open this tab in Microsoft Teams: it signs you in with your Teams account.";
      box.append(text);
    }
    target.replaceChildren(box);
  }

  async function fetchWithToken(path) {
    var current = await getToken(false);
    if (!current) {
      return null;
    }
    var answer = await fetch(path, { headers: { Authorization: "Bearer " + current }, cache: "no-store" });
    if (answer.status === 401 && teams) {
      current = await getToken(true);
      answer = await fetch(path, { headers: { Authorization: "Bearer " + current }, cache: "no-store" });
    }
    if (answer.status === 401) {
      token = null;
      if (localMode) {
        window.sessionStorage.removeItem(LOCAL_KEY);
      }
      return null;
    }
    return answer;
  }

  function put(target, html) {
    var parsed = new DOMParser().parseFromString(html, "text/html");
    target.replaceChildren.apply(target, Array.from(parsed.body.childNodes));
  }

  async function load(target, path, after) {
    target.setAttribute("aria-busy", "true");
    delete target.dataset.state;
    try {
      var answer = await fetchWithToken(path);
      if (answer === null) {
        signInNeeded(target);
        return;
      }
      put(target, await answer.text());
      if (after) {
        after(target);
      }
    } catch (error) {
      put(target, '<p class="problem" role="alert">The page could not reach the app: try again shortly.</p>');
    } finally {
      target.removeAttribute("aria-busy");
      target.dataset.state = "loaded";
    }
  }

  function query(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (key !== "board" && value !== "") {
        params.append(key, value);
      }
    });
    return params.toString();
  }

  function openInTeams(event) {
    var link = event.target.closest("a[data-deeplink]");
    if (link && teams) {
      event.preventDefault();
      teams.app.openLink(link.href);
    }
  }

  function wireCases(results) {
    results.querySelectorAll("details[data-case]").forEach(function (details) {
      details.addEventListener("toggle", function () {
        var target = details.querySelector(".detail");
        if (details.open && !target.dataset.loaded) {
          target.dataset.loaded = "yes";
          load(target, "/tabs/api/cases/" + encodeURIComponent(details.dataset.case));
        }
      });
    });
  }

  function myCases() {
    var form = document.getElementById("filters");
    var results = document.getElementById("results");
    var show = function () {
      load(results, "/tabs/api/my-cases?" + query(form), wireCases);
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      show();
    });
    results.addEventListener("click", openInTeams);
    show();
  }

  function board() {
    var form = document.getElementById("board-filters");
    var results = document.getElementById("results");
    var boardId = encodeURIComponent(form.dataset.board);
    var show = function () {
      load(results, "/tabs/api/board/" + boardId + "?" + query(form));
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.reportValidity()) {
        show();
      }
    });
    document.querySelectorAll("button[data-download]").forEach(function (button) {
      button.addEventListener("click", async function () {
        var fmt = button.dataset.download;
        var answer = await fetchWithToken("/tabs/api/board/" + boardId + "/report." + fmt + "?" + query(form));
        if (answer === null) {
          signInNeeded(results);
          return;
        }
        if (!answer.ok) {
          put(results, await answer.text());
          return;
        }
        var disposition = answer.headers.get("Content-Disposition") || "";
        var match = /filename="([^"]+)"/.exec(disposition);
        var link = document.createElement("a");
        link.href = URL.createObjectURL(await answer.blob());
        link.download = match ? match[1] : "escalations." + fmt;
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
      });
    });
    show();
  }

  function config() {
    var select = document.getElementById("f-board");
    var status = document.getElementById("config-status");
    if (!teams) {
      status.textContent = "Open this page from Teams, when you add the tab to a channel.";
      return;
    }
    var save = function () {
      teams.pages.config.setValidityState(Boolean(select.value));
    };
    teams.pages.config.registerOnSaveHandler(function (saveEvent) {
      var base = location.origin + "/tabs/board?board=" + encodeURIComponent(select.value);
      teams.pages.config
        .setConfig({
          entityId: "board-" + select.value,
          contentUrl: base,
          websiteUrl: base,
          suggestedDisplayName: "Board figures",
        })
        .then(function () { saveEvent.notifySuccess(); })
        .catch(function (error) { saveEvent.notifyFailure(String(error)); });
    });
    select.addEventListener("change", save);
    save();
    status.textContent = "Choose the board, then Save.";
  }

  function signIn() {
    var form = document.getElementById("sign-in");
    var status = document.getElementById("sign-in-status");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var person = event.submitter ? event.submitter.value : "";
      status.textContent = "Signing in…";
      var answer = await fetch("/tabs/local/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ person: person }),
      });
      if (!answer.ok) {
        status.textContent = "That person cannot sign in here.";
        return;
      }
      var data = await answer.json();
      window.sessionStorage.setItem(LOCAL_KEY, data.token);
      location.assign(form.dataset.next || "/tabs/my-cases");
    });
  }

  async function start() {
    await startTeams();
    if (page === "my-cases") {
      myCases();
    } else if (page === "board") {
      board();
    } else if (page === "config") {
      config();
    } else if (page === "sign-in") {
      signIn();
    }
  }

  start();
})();
