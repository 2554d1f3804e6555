// Which process layer a call uses (lib/process/layer.ts): `linux` reads /proc; `portable` asks
// ps, lsof and sysctl, as macOS and the BSDs allow. BG_PLATFORM=portable forces the portable layer
// on Linux (its tests run that way); on other systems it is the only one. Plain JavaScript with no
// imports: the fast path's launchers (dist/<name>.mjs) ask it too, before anything is loaded.

/** The layer BG_PLATFORM and the system ask for: 'linux', 'portable', or undefined for a value that means nothing here. */
export function processLayerName(env = process.env, system = process.platform) {
  const v = (env.BG_PLATFORM ?? '').trim();
  if (v === '') return system === 'linux' ? 'linux' : 'portable';
  if (v === 'portable') return 'portable';
  if (v === 'linux' && system === 'linux') return 'linux';
  return undefined;
}
