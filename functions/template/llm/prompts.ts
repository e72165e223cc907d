// Our prompts for Chat2SVG's three steps: plan the picture, draw it under the template rules,
// then look at the rendering and correct it.

export const SYSTEM = [
  'You are an illustrator who draws clean, flat vector illustrations as SVG.',
  'You plan a picture before drawing it, you build it from simple geometric shapes,',
  'and you follow the output format you are given exactly.',
].join(' ');

const subject = (prompt: string, style: string) =>
  style ? `"${prompt}", in this style: "${style}"` : `"${prompt}"`;

export const expandPrompt = (prompt: string, style: string) =>
  `Plan a simple flat illustration of ${subject(prompt, style)}.
Answer in plain text, without any SVG yet, in three short sections:
OBJECTS: the main objects (at most 6) and for each its visible parts (at most 5 each).
LAYOUT: where each object sits on a 512×512 canvas (rough x and y ranges), its size relative to the others, and what is in front of what.
COLORS: a palette of at most 8 hex colors (#RRGGBB) and which part gets which.`;

export const TEMPLATE_RULES = `Rules:
- Start with <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512">.
- Use only rect, circle, ellipse, line, polyline, polygon and path elements; g for grouping is fine.
- Keep each path short: at most 12 commands.
- Draw back to front: background first, then large shapes, then details on top of them.
- Colors as hex only (#RRGGBB) in fill and stroke attributes. No gradients, filters, text, images, style elements, CSS or scripts.
- Give every shape an id path_0, path_1, … in drawing order.
- Use between 10 and 60 shapes.
Reply with the SVG in one \`\`\`svg code block and nothing else.`;

export const drawPrompt = () => `Now draw that plan as an SVG.\n${TEMPLATE_RULES}`;

export const repairPrompt = (reason: string) =>
  `That answer could not be used: ${reason}.${/cut off/.test(reason) ? ' It ran out of room: use fewer, simpler shapes.' : ''}
Reply with one complete SVG document, from <svg to </svg>, following the same rules.
${TEMPLATE_RULES}`;

export const rectifyPrompt = (prompt: string, style: string) =>
  `The attached PNG is how your SVG renders. Compare it with the request ${subject(prompt, style)} and with your plan.
Fix what is visibly wrong: missing or misplaced parts, wrong proportions, shapes hidden behind others (stacking order), colors that do not read, shapes running off the canvas.
Keep what already works. Reply with the whole corrected SVG.
${TEMPLATE_RULES}`;
