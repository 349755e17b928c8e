export {
  closeRedis,
  connectRedis,
  duplicateRedis,
  isCluster,
  parseClusterUrl,
  redisReady,
  type ClusterUrl,
  type RedisSettings,
} from './connection.ts';
export { keySpace, type KeySpace } from './keys.ts';
export {
  loadLuaScripts,
  readLuaScript,
  type LoadedScripts,
  type RedisClient,
  type ScriptCall,
  type ScriptDefinition,
} from './scripts.ts';
