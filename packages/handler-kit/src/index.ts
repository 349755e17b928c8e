export {
  defineTaskHandler,
  type HandlerCatalogue,
  type TaskContext,
  type TaskHandlerDefinition,
  type TaskOutcome,
} from './define.ts';
export { retryMessageId } from './events.ts';
export {
  defineHandlerService,
  handlerConfigSchema,
  handlerServiceName,
  type HandlerConfig,
  type HandlerFactory,
  type HandlerKitParts,
} from './service.ts';
