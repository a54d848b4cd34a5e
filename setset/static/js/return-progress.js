// Polls a return's validation progress and reloads the page when it has finished.
(function () {
  "use strict";
  var watch = document.getElementById("return-progress-watch");
  if (!watch) {
    return;
  }
  function poll() {
    fetch(watch.dataset.statusUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        document.getElementById("return-state").textContent = status.state_label;
        document.getElementById("return-stage").textContent = status.stage;
        document.getElementById("return-progress").value = status.percent;
        document.getElementById("return-percent").textContent = status.percent + "%";
        if (status.finished) { window.location.reload(); } else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
