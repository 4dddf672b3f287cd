import type { FastifyRequest } from 'fastify'
import { HttpError } from 'rampart'
import type { UploadedPart } from '../domain/uploads.js'

/**
 * The one file of an upload form, read part by part so that nothing the client sent is silently
 * dropped: a second file, more fields or parts than airlock's multipart limits allow, or a field
 * longer than Rampart's field size, are refused with 413 once the file is stored and before it
 * is recorded (`finish`, called by the workflow, reads the rest of the form).
 */
export async function uploadedFile(request: FastifyRequest): Promise<UploadedPart | undefined> {
  if (!request.isMultipart()) return undefined
  const parts = request.parts()
  const refuseTruncated = (part: {
    type: string
    valueTruncated?: boolean
    fieldnameTruncated?: boolean
  }) => {
    if (part.type === 'field' && (part.valueTruncated === true || part.fieldnameTruncated === true))
      throw new HttpError(413, { detail: 'A form field is longer than this service accepts.' })
  }
  for (;;) {
    const { value: part, done } = await parts.next()
    if (done) return undefined
    if (part.type !== 'file') {
      refuseTruncated(part)
      continue
    }
    return {
      filename: part.filename,
      file: part.file,
      async finish() {
        for (;;) {
          const next = await parts.next()
          if (next.done) return
          refuseTruncated(next.value)
          // With airlock's `files: 1` busboy refuses a second file first (FilesLimitError, 413);
          // this keeps a form with a higher file limit from stalling on an unread stream.
          if (next.value.type === 'file') {
            next.value.file.resume()
            throw new HttpError(413, { detail: 'Upload one file at a time.' })
          }
        }
      },
    }
  }
}
