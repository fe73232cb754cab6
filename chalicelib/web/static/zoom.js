// Zoom and pan for a chart: buttons (zoom in, zoom out, fit, go to the current state),
// dragging with a mouse or one finger, pinching with two, ctrl + wheel. The drawing is
// moved with a CSS transform inside a box that clips it, so the page itself never
// scrolls sideways; at "fit" one finger still scrolls the page up and down.

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

/** The zoom state of a viewport (made once): { scale, x, y, apply(), zoomAt(), fit(), focus() }. */
export function zoomable(viewport, tools) {
  let state = views.get(viewport);
  if (state) return state;
  state = { scale: 1, x: 0, y: 0, applied: 1 };
  const drawing = () => viewport.querySelector("svg");
  // the drawing's height at "fit" (a transform does not change its layout box)
  const natural = () => (drawing()?.getBoundingClientRect().height || 0) / state.applied;
  state.apply = () => {
    const svg = drawing();
    if (!svg) return;
    svg.style.transformOrigin = "0 0";
    svg.style.transform = `translate(${state.x}px, ${state.y}px) scale(${state.scale})`;
    state.applied = state.scale;
    viewport.style.touchAction = state.scale > 1 ? "none" : "pan-y";
    viewport.dataset.scale = state.scale.toFixed(2);
  };
  state.clamp = () => {
    const width = viewport.clientWidth;
    const height = natural() || viewport.clientHeight;
    state.x = Math.min(0, Math.max(state.x, width - width * state.scale));
    state.y = Math.min(0, Math.max(state.y, viewport.clientHeight - height * state.scale));
  };
  /** Zoom by `factor` keeping the point (px, py) of the viewport where it is. */
  state.zoomAt = (factor, px = viewport.clientWidth / 2, py = viewport.clientHeight / 2) => {
    const scale = Math.min(MAX_SCALE, Math.max(1, state.scale * factor));
    state.x = px - ((px - state.x) * scale) / state.scale;
    state.y = py - ((py - state.y) * scale) / state.scale;
    state.scale = scale;
    state.clamp();
    state.apply();
  };
  state.fit = () => {
    Object.assign(state, { scale: 1, x: 0, y: 0 });
    state.apply();
  };
  /** Show `node` (an element of the drawing) in the middle at a scale whose labels read
   * at about the size of the page's text. */
  state.focus = (node) => {
    const svg = drawing();
    if (!svg || !node) return;
    const box = viewport.getBoundingClientRect();
    const fitted = svg.viewBox?.baseVal?.width ? box.width / svg.viewBox.baseVal.width : 1;
    const scale = Math.min(MAX_SCALE, Math.max(1, 1 / fitted));
    state.fit();
    const at = node.getBoundingClientRect();
    state.scale = scale;
    state.x = box.width / 2 - (at.left - box.left + at.width / 2) * scale;
    state.y = box.height / 2 - (at.top - box.top + at.height / 2) * scale;
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
    down.set(event.pointerId, now);
    if (down.size >= 2 && pinch) {
      const [a, b] = [...down.values()];
      const distance = Math.hypot(a.x - b.x, a.y - b.y);
      state.zoomAt(distance / pinch, (a.x + b.x) / 2, (a.y + b.y) / 2);
      pinch = distance;
    } else if (state.scale > 1 || event.pointerType === "mouse") {
      state.x += now.x - before.x;
      state.y += now.y - before.y;
      state.clamp();
      state.apply();
    }
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
