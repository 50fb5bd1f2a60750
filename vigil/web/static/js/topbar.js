// A page with nothing but the top bar (clock, logging out).
import { startTopbar } from "./common.js";

startTopbar();
document.body.dataset.ready = "1";
