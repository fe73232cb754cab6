// Time travel on a chart: a slider over an instance's history (or a pick of one entry),
// the step's details beside the chart, and one button back to live. The page keeps
// following the instance meanwhile; it shows the live state again only when asked.

/** The history controls in `box`: a slider over `count` steps and *Back to live*.
 * `onPick(index)` runs when a step is chosen (0 = the oldest), `onLive()` on the way
 * back. Returns { show(count), pick(index), live(), get travelling() }. */
export function stepper(box, onPick, onLive) {
  const label = document.createElement("label");
  label.htmlFor = `${box.id}-slider`;
  label.textContent = "Step through the history";
  const slider = document.createElement("input");
  slider.type = "range";
  slider.id = `${box.id}-slider`;
  slider.min = "1";
  slider.step = "1";
  const where = document.createElement("output");
  where.htmlFor = slider.id;
  where.className = "connection";
  const back = document.createElement("button");
  back.type = "button";
  back.textContent = "Back to live";
  back.className = "primary";
  back.hidden = true;
  const row = document.createElement("div");
  row.className = "row";
  row.append(slider, where, back);
  box.replaceChildren(label, row);

  let count = 0;
  let travelling = null; // the index shown, or null when live
  const say = () => {
    where.textContent = travelling === null ? `Live (step ${count} of ${count})` : `Step ${travelling + 1} of ${count}`;
    back.hidden = travelling === null;
    box.dataset.travelling = travelling === null ? "" : String(travelling + 1);
  };
  const handle = {
    show(steps) {
      count = steps;
      slider.max = String(Math.max(1, steps));
      slider.disabled = steps < 2;
      if (travelling === null) slider.value = String(steps);
      say();
    },
    pick(index) {
      travelling = Math.max(0, Math.min(index, count - 1));
      slider.value = String(travelling + 1);
      say();
      onPick(travelling);
    },
    live() {
      travelling = null;
      slider.value = String(count);
      say();
      onLive();
    },
    get travelling() {
      return travelling;
    },
  };
  slider.addEventListener("input", () => {
    const index = Number(slider.value) - 1;
    if (index === count - 1 && travelling === null) return;
    handle.pick(index);
  });
  back.addEventListener("click", () => handle.live());
  return handle;
}

/** A step's facts as a definition list: [term, text or JSON-able value] pairs. */
export function stepFacts(list, facts) {
  list.replaceChildren(
    ...facts.map(([term, value]) => {
      const pair = document.createElement("div");
      const name = document.createElement("dt");
      name.textContent = term;
      const text = document.createElement("dd");
      if (typeof value === "string") text.textContent = value;
      else {
        const pre = document.createElement("pre");
        pre.tabIndex = 0;
        pre.textContent = JSON.stringify(value, null, 2);
        text.append(pre);
      }
      pair.append(name, text);
      return pair;
    }),
  );
}

/** "bakePizza.waiting" or "(a:x,b)" (a state as the history records it) -> active paths. */
export function pathsOfKey(key, parent = "") {
  if (!key) return [];
  if (key.startsWith("(") && key.endsWith(")")) {
    const parts = [];
    let depth = 0;
    let start = 1;
    for (let i = 1; i < key.length - 1; i += 1) {
      if (key[i] === "(") depth += 1;
      else if (key[i] === ")") depth -= 1;
      else if (key[i] === "," && depth === 0) {
        parts.push(key.slice(start, i));
        start = i + 1;
      }
    }
    parts.push(key.slice(start, key.length - 1));
    return parts.flatMap((part) => {
      const [region, ...rest] = part.split(":");
      const here = parent ? `${parent}.${region}` : region;
      return [here, ...pathsOfKey(rest.join(":"), here)];
    });
  }
  const dot = key.indexOf(".");
  const first = dot < 0 ? key : key.slice(0, dot);
  const tail = dot < 0 ? "" : key.slice(dot + 1);
  const here = parent ? `${parent}.${first}` : first;
  return [here, ...(tail ? pathsOfKey(tail, here) : [])];
}
