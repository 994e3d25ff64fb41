import { DynamicModule, Global, Module } from '@nestjs/common';
import { PinoNestLogger } from './pino-nest.logger';
import { createRootLogger } from './root-logger';

@Global()
@Module({})
export class LoggingModule {
  static forRoot(level: string): DynamicModule {
    return {
      module: LoggingModule,
      providers: [{ provide: PinoNestLogger, useValue: new PinoNestLogger(createRootLogger(level)) }],
      exports: [PinoNestLogger],
    };
  }
}
