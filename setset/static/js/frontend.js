// The NHS.UK frontend's components, started only in browsers that run modules (which is what
// the frontend's "nhsuk-frontend-supported" body class declares). No inline script needed.
import { initAll } from "../vendor/nhsuk-frontend/nhsuk-frontend.min.js";

document.body.classList.add("nhsuk-frontend-supported");
initAll();
