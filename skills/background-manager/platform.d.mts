export type ProcessLayerName = 'linux' | 'portable';
export function processLayerName(env?: NodeJS.ProcessEnv, system?: NodeJS.Platform): ProcessLayerName | undefined;
