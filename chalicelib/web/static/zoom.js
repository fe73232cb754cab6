// Zoom and pan for a chart: buttons (zoom in, zoom out, fit, go to the current state),
// dragging with a mouse, two fingers to pinch and move, one finger sideways, ctrl + wheel.
// The drawing is moved with a CSS transform inside a box that clips it, so the page
// itself never scrolls sideways, and one finger up or down still scrolls the page.

const MAX_SCALE = 8;
const views = new WeakMap(); // viewport -> its zoom state

function make(text, label, onClick) {
  const control = document.createElement("button");
  control.type = "button";
  control.textContent = text;
  control.setAttribute("aria-label", label);
  control.addEventListener("click", onClick);
  return control;
}

/** The zoom state of a viewport (made once): { scale, x, y, apply(), zoomAt(), fit(),
 * focus(), tall() }. Scale 1 is the drawing as wide as its box; "fit" shows all of it. */
export function zoomable(viewport, tools) {
  let state = views.get(viewport);
  if (state) return state;
  state = { scale: 1, x: 0, y: 0, applied: 1 };
  const drawing = () => viewport.querySelector("svg");
  // the drawing's height at scale 1 (a transform does not change its layout box)
  const natural = () => (drawing()?.getBoundingClientRect().height || 0) / state.applied;
  const fitScale = () => Math.min(1, viewport.clientHeight / (natural() || viewport.clientHeight));
  state.tall = () => natural() > viewport.clientHeight;
  state.apply = () => {
    const svg = drawing();
    if (!svg) return;
    svg.style.transformOrigin = "0 0";
    svg.style.transform = `translate(${state.x}px, ${state.y}px) scale(${state.scale})`;
    state.applied = state.scale;
    viewport.dataset.scale = state.scale.toFixed(2);
  };
  /** Keep the drawing over its box: centred when narrower, no empty margin otherwise. */
  state.clamp = () => {
    const [width, height] = [viewport.clientWidth, viewport.clientHeight];
    const [drawnWidth, drawnHeight] = [width * state.scale, natural() * state.scale];
    const within = (value, low) => Math.min(0, Math.max(value, low));
    state.x = drawnWidth <= width ? (width - drawnWidth) / 2 : within(state.x, width - drawnWidth);
    state.y = drawnHeight <= height ? 0 : within(state.y, height - drawnHeight);
  };
  /** Zoom by `factor` keeping the point (px, py) of the viewport where it is. */
  state.zoomAt = (factor, px = viewport.clientWidth / 2, py = viewport.clientHeight / 2) => {
    const scale = Math.min(MAX_SCALE, Math.max(fitScale(), state.scale * factor));
    state.x = px - ((px - state.x) * scale) / state.scale;
    state.y = py - ((py - state.y) * scale) / state.scale;
    state.scale = scale;
    state.clamp();
    state.apply();
  };
  state.pan = (dx, dy) => {
    state.x += dx;
    state.y += dy;
    state.clamp();
    state.apply();
  };
  state.fit = () => {
    state.scale = fitScale();
    state.clamp();
    state.apply();
  };
  /** Show `node` (an element of the drawing) in the middle of the box at a scale whose
   * labels read at the size the chart was drawn at (about the page's text). */
  state.focus = (node) => {
    const svg = drawing();
    if (!svg || !node) return;
    const width = viewport.clientWidth;
    const drawnAt = svg.viewBox?.baseVal?.width ? svg.viewBox.baseVal.width / width : 1;
    const scale = Math.min(MAX_SCALE, Math.max(fitScale(), drawnAt));
    const frame = svg.getBoundingClientRect();
    const at = node.getBoundingClientRect();
    const centre = {
      x: (at.left - frame.left + at.width / 2) / state.applied,
      y: (at.top - frame.top + at.height / 2) / state.applied,
    };
    state.scale = scale;
    state.x = width / 2 - centre.x * scale;
    state.y = viewport.clientHeight / 2 - centre.y * scale;
    state.clamp();
    state.apply();
  };
  tools.append(
    make("+", "Zoom in on the chart", () => state.zoomAt(1.5)),
    make("−", "Zoom out of the chart", () => state.zoomAt(1 / 1.5)),
    make("Fit", "Fit the whole chart in its box", () => state.fit()),
    make("Now", "Now: zoom to the current state", () => state.focus(viewport.querySelector("g.active"))),
  );
  follow(viewport, state);
  views.set(viewport, state);
  return state;
}

/** Pointers on the viewport: one drags, two pinch. */
function follow(viewport, state) {
  const down = new Map(); // pointerId -> {x, y}
  let pinch = null;
  const local = (event) => {
    const box = viewport.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  };
  viewport.addEventListener("pointerdown", (event) => {
    down.set(event.pointerId, local(event));
    if (down.size === 2) {
      const [a, b] = [...down.values()];
      pinch = Math.hypot(a.x - b.x, a.y - b.y);
    }
    try {
      viewport.setPointerCapture(event.pointerId); // keep following a finger that leaves the box
    } catch {
      // a pointer the browser no longer knows: nothing to capture
    }
  });
  viewport.addEventListener("pointermove", (event) => {
    const before = down.get(event.pointerId);
    if (!before) return;
    const now = local(event);
    if (down.size >= 2 && pinch) {
      const [a, b] = [...down.values()];
      down.set(event.pointerId, now);
      const [c, d] = [...down.values()];
      const distance = Math.hypot(c.x - d.x, c.y - d.y);
      state.pan((c.x + d.x - a.x - b.x) / 2, (c.y + d.y - a.y - b.y) / 2);
      state.zoomAt(distance / pinch, (c.x + d.x) / 2, (c.y + d.y) / 2);
      pinch = distance;
      return;
    }
    down.set(event.pointerId, now);
    // a mouse drags both ways; one finger sideways only (up and down scrolls the page)
    state.pan(now.x - before.x, event.pointerType === "mouse" ? now.y - before.y : 0);
  });
  const up = (event) => {
    down.delete(event.pointerId);
    if (down.size < 2) pinch = null;
  };
  viewport.addEventListener("pointerup", up);
  viewport.addEventListener("pointercancel", up);
  viewport.addEventListener(
    "wheel",
    (event) => {
      if (!event.ctrlKey) return; // a plain wheel scrolls the page
      event.preventDefault();
      const at = local(event);
      state.zoomAt(event.deltaY < 0 ? 1.2 : 1 / 1.2, at.x, at.y);
    },
    { passive: false },
  );
}
