import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { Controller, Get, Injectable, Logger, Module, OnModuleInit, Redirect } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Public } from '../api-keys/decorators/public.decorator';
import { projectRoot } from '../common/project-root';

/** The playground only talks to its own origin; no inline script or style anywhere. */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Where `npm run ui:build` writes the playground. */
export const uiDistDir = () => join(projectRoot(), 'ui', 'dist');

/**
 * Serves the built playground at /ui/ so `npm start` users have it without nginx. Registered on
 * Fastify directly, outside Nest's router: static files need no API key (the pages ask for one
 * and send it with every API call). Without a build (ui/dist missing) nothing is served.
 */
@Injectable()
export class UiStaticServer implements OnModuleInit {
  private readonly logger = new Logger('UiStaticServer');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const root = uiDistDir();
    if (!existsSync(join(root, 'index.html'))) {
      this.logger.warn(`no playground build in ${root}: /ui/ is not served (npm run ui:build)`);
      return;
    }
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    // Not awaited: Fastify loads plugins in order when the server starts (as Swagger's static files do).
    void fastify.register(fastifyStatic, {
      root,
      // '/ui' plus redirect: `/ui` answers 301 to `/ui/`.
      prefix: '/ui',
      redirect: true,
      // The Swagger UI already decorated the reply with sendFile.
      decorateReply: false,
      index: ['index.html'],
      dotfiles: 'ignore',
      cacheControl: false,
      setHeaders: (reply: FastifyReply, path: string) => {
        // Vite's assets have content hashes in their names; pages must be revalidated.
        reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
        reply.header('content-security-policy', UI_CONTENT_SECURITY_POLICY);
        reply.header('x-content-type-options', 'nosniff');
        reply.header('referrer-policy', 'no-referrer');
      },
    });
  }
}

/** `GET /` sends a browser to the playground (docs/first-start.md); not an API route, so not in Swagger. */
@ApiExcludeController()
@Public()
@Controller()
export class RootRedirectController {
  @Get()
  @Redirect('/ui/', 302)
  root(): void {}
}

@Module({ controllers: [RootRedirectController], providers: [UiStaticServer] })
export class UiModule {}
