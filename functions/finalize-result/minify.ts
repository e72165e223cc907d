// The result's last step before it is stored: svgo. Its own module, as svgo takes half a second
// to load and only finalize needs it (not the readers of the result document).
import { optimize } from 'svgo';

export interface Minified {
  svg: string;
  /** Elements in the minified document, the root <svg> included (as the sanitizer counts). */
  elements: number;
}

/**
 * svgo with the default preset, except: ids stay (path_N names the shapes a later edit or the
 * report refers to), paths stay separate (merging would fuse shapes), the viewBox stays (svgo 4's
 * preset keeps it; scaling depends on it).
 */
export function minifySvg(svg: string): Minified {
  let elements = 0;
  const { data } = optimize(svg, {
    // One pass: a second one saved nothing on pipeline outputs and doubled the time on large ones.
    multipass: false,
    plugins: [
      { name: 'preset-default', params: { overrides: { cleanupIds: false, mergePaths: false } } },
      {
        name: 'countElements',
        fn: () => ({
          root: {
            enter: () => {
              elements = 0;
            },
          },
          element: {
            enter: () => {
              elements += 1;
            },
          },
        }),
      },
    ],
  });
  return { svg: data, elements };
}
