export { closeRedis, connectRedis, duplicateRedis, redisReady, type RedisSettings } from './connection.ts';
export { keySpace, type KeySpace } from './keys.ts';
export {
  loadLuaScripts,
  readLuaScript,
  type LoadedScripts,
  type RedisClient,
  type ScriptCall,
  type ScriptDefinition,
} from './scripts.ts';
