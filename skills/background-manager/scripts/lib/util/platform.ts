// The process layer's name for this call, checked: BG_PLATFORM may only name a layer that runs here.
import { BgError } from '../errors.ts';
import { oneLine } from './format.ts';
import { processLayerName, type ProcessLayerName } from '../../../platform.mjs';

export type { ProcessLayerName };

let cached: ProcessLayerName | undefined;

/** 'linux' (reads /proc) or 'portable' (ps, lsof, sysctl); a BG_PLATFORM that means nothing here is a usage error. */
export function layerName(env: NodeJS.ProcessEnv = process.env): ProcessLayerName {
  if (env === process.env && cached) return cached;
  const name = processLayerName(env);
  if (!name) {
    throw new BgError(
      'USAGE',
      `BG_PLATFORM="${oneLine(String(env.BG_PLATFORM))}" is not a process layer of this system (${process.platform}): unset it, or set BG_PLATFORM=portable${process.platform === 'linux' ? ' or linux' : ''}.`,
    );
  }
  if (env === process.env) cached = name;
  return name;
}

/** The supervisor takes the layer of the call that started it (its config), not its environment. */
export function useLayer(name: ProcessLayerName): void {
  cached = name;
}
